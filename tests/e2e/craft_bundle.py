#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Craft a .run bundle by hand, independently of the C++ bundler (docs/bundle-format.md, version 1).

    file    = installer payload trailer
    payload = zstd( tar( bundle.json, blobs/sha256/<hex>... ) )
    trailer = 288 bytes, little-endian, see TRAILER below

Python standard library only; compression is done by the `zstd` command-line tool. Every digest and
the trailer are computed as the format document says, so a well-formed crafted bundle passes
`--check`. Members are given in order and may be malicious on purpose (the reader must refuse them):

  craft_bundle.py --installer build/bin/platform-installer --index bundle.json --out x.run \\
      --blob hello.txt                          # regular member blobs/sha256/<sha256 of hello.txt>
      --file 'blobs/../../escape=hello.txt'     # regular member with any path, data from a local file
      --symlink 'blobs/sha256/<hex>=/etc/passwd' --hardlink 'NAME=TARGET' --dir NAME
      --pax path=../x --blob hello.txt          # pax records for the next member only (needs --tar pax)
      --raw-pax '38 path=bundle.json\n'         # a pax header member whose data is given verbatim
      --zero-member 'blobs/sha256/<hex>=25769803776'   # a member of N zero bytes (N may be huge)
      --end-zeros 25769803776                   # N zero bytes after the end of the archive

Large runs of zeros (--zero-member, --end-zeros) are never built in memory: they are written as
hand-made zstd frames of RLE blocks (RFC 8878), 4 bytes per 128 KiB, so a file of under 1 MiB can hold
tens of gigabytes of zeros; the rest of the tar goes through the zstd tool as separate frames (a
payload may hold several frames). The --trailer-* options overwrite a trailer field (the trailer's own
sha256 is still computed over what is written), to craft sizes that wrap or exceed the file.

bundle.json (the --index file, byte for byte) is the first member unless --no-index-member is given;
the trailer's bundle_json_size and bundle_json_sha256 always describe the --index file.
"""
import argparse
import hashlib
import os
import struct
import subprocess
import sys
import tarfile

TRAILER_SIZE = 288
FORMAT_VERSION = 1
MAGIC = b"PLTBNDL1"
END_MAGIC = b"PLTEND\n\0"
BLOCK = 512


def sha256(data):
    return hashlib.sha256(data).digest()


def encode_trailer(installer_size, payload_size, bundle_json_size, installer_sha256, payload_sha256,
                   bundle_json_sha256, flags=0, fingerprint=b"\0" * 32, signature=b"\0" * 64,
                   format_version=FORMAT_VERSION, trailer_size=TRAILER_SIZE, payload_offset=None,
                   reserved=0):
    """The 288-byte trailer: offsets as in docs/bundle-format.md, integers little-endian."""
    if payload_offset is None:
        payload_offset = installer_size
    assert len(fingerprint) == 32 and len(signature) == 64
    head = b"".join([
        MAGIC,                                    # 0   8  magic
        struct.pack("<I", format_version),        # 8   4  format_version
        struct.pack("<I", trailer_size),          # 12  4  trailer_size
        struct.pack("<Q", installer_size),        # 16  8  installer_size
        struct.pack("<Q", payload_offset),        # 24  8  payload_offset
        struct.pack("<Q", payload_size),          # 32  8  payload_size
        struct.pack("<Q", bundle_json_size),      # 40  8  bundle_json_size
        installer_sha256,                         # 48  32 installer_sha256
        payload_sha256,                           # 80  32 payload_sha256
        bundle_json_sha256,                       # 112 32 bundle_json_sha256
        struct.pack("<I", flags),                 # 144 4  flags
        struct.pack("<I", reserved),              # 148 4  reserved
        fingerprint,                              # 152 32 signer_fingerprint
        signature,                                # 184 64 signature
    ])
    assert len(head) == 248
    out = head + sha256(head) + END_MAGIC       # 248 32 trailer_sha256, 280 8 end magic
    assert len(out) == TRAILER_SIZE
    return out


def split_spec(spec, what):
    name, sep, value = spec.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{what}: want NAME=VALUE, got {spec!r}")
    return name, value


def member_file(spec):
    name, src = split_spec(spec, "--file")
    return ("file", name, src)


def member_blob(src):
    return ("blob", None, src)


def member_symlink(spec):
    name, target = split_spec(spec, "--symlink")
    return ("symlink", name, target)


def member_hardlink(spec):
    name, target = split_spec(spec, "--hardlink")
    return ("hardlink", name, target)


def member_dir(name):
    return ("dir", name, None)


def member_pax(spec):
    key, value = split_spec(spec, "--pax")
    return ("pax", key, value)


def member_raw_pax(records):
    # Backslash escapes (\n) are decoded, so a shell argument can hold the records' newlines.
    return ("rawpax", "PaxHeaders/raw", records.encode("utf-8").decode("unicode_escape").encode("latin-1"))


def member_zero(spec):
    name, size = split_spec(spec, "--zero-member")
    return ("zero", name, int(size, 0))


def u64(text):
    v = int(text, 0)
    if not 0 <= v < 1 << 64:
        raise argparse.ArgumentTypeError(f"{text!r} does not fit in 64 bits")
    return v


def read(path):
    with open(path, "rb") as f:
        return f.read()


def build_tar(members, tar_format, mtime, end_blocks, end_zeros=0):
    """The uncompressed tar: members in the given order, uid/gid 0, fixed mtime, as a list of segments:
    bytes, or an int for that many zero bytes (so a huge zero member is never held in memory)."""
    fmt = {"pax": tarfile.PAX_FORMAT, "ustar": tarfile.USTAR_FORMAT, "gnu": tarfile.GNU_FORMAT}[tar_format]
    segments = []
    offset = 0
    pending_pax = {}

    def emit(segment):
        nonlocal offset
        segments.append(segment)
        offset += segment if isinstance(segment, int) else len(segment)

    def pad(size):
        return (BLOCK - size % BLOCK) % BLOCK

    for kind, name, arg in members:
        if kind == "pax":
            pending_pax[name] = arg
            continue
        data = b""
        if kind == "blob":
            data = read(arg)
            name = "blobs/sha256/" + hashlib.sha256(data).hexdigest()
        elif kind == "file":
            data = read(arg)
        elif kind == "rawpax":
            data = arg
        info = tarfile.TarInfo(name)
        info.mtime = mtime
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        if kind in ("file", "blob"):
            info.type, info.mode, info.size = tarfile.REGTYPE, 0o644, len(data)
        elif kind == "zero":
            info.type, info.mode, info.size = tarfile.REGTYPE, 0o644, arg
        elif kind == "rawpax":
            info.type, info.mode, info.size = tarfile.XHDTYPE, 0o644, len(data)
        elif kind == "symlink":
            info.type, info.mode, info.linkname = tarfile.SYMTYPE, 0o777, arg
        elif kind == "hardlink":
            info.type, info.mode, info.linkname = tarfile.LNKTYPE, 0o644, arg
        elif kind == "dir":
            info.type, info.mode = tarfile.DIRTYPE, 0o755
        if pending_pax:
            if fmt != tarfile.PAX_FORMAT:
                sys.exit("craft_bundle: --pax needs --tar pax")
            info.pax_headers = dict(pending_pax)
            pending_pax = {}
        # What TarFile.addfile writes: the header block(s), then the data padded to 512 bytes.
        emit(info.tobuf(fmt, tarfile.ENCODING, "surrogateescape"))
        if kind == "zero":
            emit(arg + pad(arg))
        elif data:
            emit(data + b"\0" * pad(len(data)))
    if pending_pax:
        sys.exit("craft_bundle: --pax with no member after it")
    if end_blocks is None:
        # As TarFile.close: two zero blocks, then padding to a 10240-byte record.
        end = 2 * BLOCK
        end += (tarfile.RECORDSIZE - (offset + end) % tarfile.RECORDSIZE) % tarfile.RECORDSIZE
    else:
        end = BLOCK * end_blocks
    emit(end)
    if end_zeros:
        emit(end_zeros)
    return segments


def zstd(data, level):
    return subprocess.run(["zstd", "-q", "-c", f"-{level}"], input=data, stdout=subprocess.PIPE, check=True).stdout


def compress_bytes(tar_bytes, level, frame_size):
    """One zstd frame, or one frame per frame_size bytes of tar (a reader must accept several frames)."""
    if not frame_size:
        return zstd(tar_bytes, level)
    return b"".join(zstd(tar_bytes[i:i + frame_size], level) for i in range(0, len(tar_bytes), frame_size))


ZSTD_MAGIC = 0xFD2FB528
RLE_BLOCK_MAX = 128 << 10   # Block_Maximum_Size = min(Window_Size, 128 KiB)


def zero_frame(n):
    """One zstd frame (RFC 8878) regenerating n zero bytes from RLE blocks: 4 bytes per 128 KiB."""
    out = [struct.pack("<I", ZSTD_MAGIC),
           bytes([0x00]),            # Frame_Header_Descriptor: no content size, no checksum, no dictionary
           bytes([(17 - 10) << 3])]  # Window_Descriptor: exponent 7, mantissa 0: 2^17 = 128 KiB
    while True:
        k = min(n, RLE_BLOCK_MAX)
        n -= k
        last = 1 if n == 0 else 0
        out.append((last | 1 << 1 | k << 3).to_bytes(3, "little") + b"\0")   # Block_Type 1 = RLE
        if last:
            return b"".join(out)


def compress(segments, level, frame_size):
    """The payload: small zero runs join the bytes around them; each bytes run is compressed by the zstd
    tool, each large zero run becomes a hand-made RLE frame. Without large runs this is one call to
    compress_bytes over the whole tar, as before."""
    runs = []
    for seg in segments:
        if isinstance(seg, int) and seg < 1 << 20:
            seg = b"\0" * seg
        if isinstance(seg, bytes) and runs and isinstance(runs[-1], bytes):
            runs[-1] += seg
        elif seg != 0:
            runs.append(seg)
    return b"".join(zero_frame(r) if isinstance(r, int) else compress_bytes(r, level, frame_size) for r in runs)


def skippable_frame(data):
    return struct.pack("<II", 0x184D2A50, len(data)) + data


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--installer", required=True, help="the bare installer ELF (build/bin/platform-installer)")
    p.add_argument("--index", required=True, help="bundle.json, used byte for byte")
    p.add_argument("--out", required=True, help="the .run file to write (mode 0755)")
    p.add_argument("--no-index-member", action="store_true",
                   help="do not add bundle.json as the first member (give it yourself with --file)")
    members = p.add_argument_group("members, in order")
    members.add_argument("--file", dest="members", action="append", type=member_file, metavar="PATH=SRC",
                         help="regular file member PATH holding SRC's bytes")
    members.add_argument("--blob", dest="members", action="append", type=member_blob, metavar="SRC",
                         help="regular file member blobs/sha256/<sha256 of SRC> holding SRC's bytes")
    members.add_argument("--symlink", dest="members", action="append", type=member_symlink, metavar="PATH=TARGET")
    members.add_argument("--hardlink", dest="members", action="append", type=member_hardlink, metavar="PATH=TARGET")
    members.add_argument("--dir", dest="members", action="append", type=member_dir, metavar="PATH")
    members.add_argument("--pax", dest="members", action="append", type=member_pax, metavar="KEY=VALUE",
                         help="a pax record for the next member (e.g. path=...), repeatable")
    members.add_argument("--raw-pax", dest="members", action="append", type=member_raw_pax, metavar="RECORDS",
                         help="a pax header member (typeflag x) holding RECORDS verbatim (backslash escapes decoded)")
    members.add_argument("--zero-member", dest="members", action="append", type=member_zero, metavar="PATH=SIZE",
                         help="regular file member PATH of SIZE zero bytes (RLE frames: any size stays small)")
    tweaks = p.add_argument_group("format knobs (defaults give a well-formed bundle)")
    tweaks.add_argument("--tar", choices=["pax", "ustar", "gnu"], default="pax", help="tar flavour (gnu is refused)")
    tweaks.add_argument("--mtime", type=int, default=int(os.environ.get("SOURCE_DATE_EPOCH", "0")),
                        help="every member's mtime (default SOURCE_DATE_EPOCH or 0)")
    tweaks.add_argument("--end-blocks", type=int, help="end the tar with exactly N zero blocks")
    tweaks.add_argument("--end-zeros", type=int, default=0, help="N more zero bytes after the end of the tar")
    tweaks.add_argument("--level", type=int, default=3, help="zstd level")
    tweaks.add_argument("--frame-size", type=int, default=0, help="split the tar into zstd frames of N bytes")
    tweaks.add_argument("--skippable-frame", action="store_true", help="append a zstd skippable frame to the payload")
    tweaks.add_argument("--flags", type=lambda s: int(s, 0), default=0, help="trailer flags")
    tweaks.add_argument("--format-version", type=int, default=FORMAT_VERSION, help="trailer format_version")
    tweaks.add_argument("--trailer-installer-size", type=u64, help="trailer installer_size (default: the real one)")
    tweaks.add_argument("--trailer-payload-offset", type=u64,
                        help="trailer payload_offset (default: the trailer's installer_size)")
    tweaks.add_argument("--trailer-payload-size", type=u64, help="trailer payload_size (default: the real one)")
    a = p.parse_args()

    installer = read(a.installer)
    if installer[:4] != b"\x7fELF":
        sys.exit(f"craft_bundle: {a.installer} is not an ELF executable")
    if len(installer) >= TRAILER_SIZE and installer[-8:] == END_MAGIC:
        sys.exit(f"craft_bundle: {a.installer} is already a bundle, not the bare installer")
    index = read(a.index)

    member_list = list(a.members or [])
    if not a.no_index_member:
        member_list.insert(0, ("file", "bundle.json", a.index))
    segments = build_tar(member_list, a.tar, a.mtime, a.end_blocks, a.end_zeros)
    payload = compress(segments, a.level, a.frame_size)
    if a.skippable_frame:
        payload += skippable_frame(b"crafted")

    installer_size = len(installer) if a.trailer_installer_size is None else a.trailer_installer_size
    trailer = encode_trailer(
        installer_size=installer_size,
        payload_size=len(payload) if a.trailer_payload_size is None else a.trailer_payload_size,
        bundle_json_size=len(index),
        installer_sha256=sha256(installer), payload_sha256=sha256(payload), bundle_json_sha256=sha256(index),
        flags=a.flags, format_version=a.format_version, payload_offset=a.trailer_payload_offset)

    tmp = a.out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(installer)
        f.write(payload)
        f.write(trailer)
    os.chmod(tmp, 0o755)
    os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
