#!/usr/bin/env bash
# The payload's frames (docs/bundle-format.md 3.1 and 7) through the real bundler: an image layer (gzip),
# a zstd layer and a .deb each go in a stored zstd frame of raw blocks, busybox and a manifest are
# compressed at --level; the bytes do not depend on --threads; the zstd tool and tar read the payload;
# --check passes. The frames are walked here independently of libzstd (RFC 8878).
source "$(dirname "$0")/lib.sh"
command -v zstd >/dev/null || skip "needs the zstd command-line tool"
FIX="$BIN/../fixtures/debs"
DEB=$(find "$FIX" -name '*.deb' -size +200k 2>/dev/null | sort | head -n1)
[ -n "$DEB" ] || die "no fixture .deb over 200 KiB in $FIX: run scripts/setup"

# 1. Input: layers as `docker push` makes them (a tar through gzip -6; one through zstd), a .deb, busybox
# (compressible), a small manifest.
IN="$SCRATCH/in"
mkdir -p "$IN"
tar -c -f - -C "$BIN" . 2>/dev/null | head -c 3M | gzip -6 >"$IN/layer.tar.gz" || true
tar -c -f - -C "$BIN" . 2>/dev/null | tail -c 3M | zstd -q -3 >"$IN/layer.tar.zst" || true
cp "$DEB" "$IN/package.deb"
cp /bin/busybox "$IN/busybox"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}\n' >"$IN/manifest.json"
for f in layer.tar.gz layer.tar.zst busybox; do
    [ "$(stat -c %s "$IN/$f")" -gt 262144 ] || die "$f is too small to be told apart: $(stat -c %s "$IN/$f") bytes"
done

W="$SCRATCH/work"
mkdir -p "$W/manifests/profiles" "$W/manifests/components"
cat >"$W/manifests/profiles/frames.yaml" <<'EOF'
name: frames
version: 0.0.1
platforms:
  - {os: debian, release: "12", arch: amd64}
components: [frames-files]
roles:
  master:
    phases: [preflight, store, binaries]
    minima: {cpus: 1, memory_gb: 1, disk_gb: 1}
EOF
{
    printf 'name: frames-files\nfiles:\n'
    for f in "$IN"/*; do
        printf '  - name: %s\n    url: file://%s\n    install: /opt/frames/%s\n    mode: "0644"\n' "${f##*/}" "$f" "${f##*/}"
    done
} >"$W/manifests/components/frames-files.yaml"
"$BUNDLER" lock --profile frames --workdir "$W" --cache "$SCRATCH/cache" >/dev/null
build() { "$BUNDLER" build --profile frames --workdir "$W" --cache "$SCRATCH/cache" --installer "$INSTALLER" "$@" >/dev/null; }

# 2. The same bytes whatever the thread count.
RUN="$SCRATCH/one.run"
build --output "$RUN" --threads 1
build --output "$SCRATCH/two.run" --threads 2
build --output "$SCRATCH/four.run" --threads 4
cmp "$RUN" "$SCRATCH/two.run" || die "--threads 1 and --threads 2 give different bytes"
cmp "$RUN" "$SCRATCH/four.run" || die "--threads 1 and --threads 4 give different bytes"
"$RUN" --check >"$SCRATCH/out" 2>&1
expect_output "^ok: frames 0.0.1"

# 3. The zstd tool reads the payload; tar unpacks it; every blob matches its name.
read -r off size < <("$BUNDLER" inspect --json "$RUN" | python3 -c 'import json,sys; t=json.load(sys.stdin)["trailer"]; print(t["payload_offset"], t["payload_size"])')
tail -c +$((off + 1)) "$RUN" | head -c "$size" >"$SCRATCH/payload.tar.zst"
zstd -q -t "$SCRATCH/payload.tar.zst" || die "zstd -t refuses the payload"
mkdir "$SCRATCH/x"
zstd -q -dc "$SCRATCH/payload.tar.zst" | tar -x -f - -C "$SCRATCH/x"
[ "$(ls "$SCRATCH/x/blobs/sha256" | wc -l)" -eq 5 ] || die "want 5 blobs in the payload"
(cd "$SCRATCH/x/blobs/sha256" && for b in *; do echo "$b  $b"; done | sha256sum --quiet -c -) || die "a blob does not match its name"

# 4. The frames, walked by RFC 8878: one stored frame per layer and .deb (content size = the blob's size,
# raw blocks of 128 KiB, a checksum, 18 + 3 per block bytes over the data, the data verbatim), the rest
# compressed; and the payload no larger than the stored blobs plus the compressed rest.
python3 - "$SCRATCH/payload.tar.zst" "$IN" <<'PY'
import os, struct, sys
payload = open(sys.argv[1], "rb").read()
blobs = {n: open(os.path.join(sys.argv[2], n), "rb").read() for n in os.listdir(sys.argv[2])}

def frames(b):
    at = 0
    while at < len(b):
        start = at
        assert struct.unpack_from("<I", b, at)[0] == 0xFD2FB528, f"no zstd frame at {at}"
        fhd = b[at + 4]; at += 5
        single, checksum, fcs_flag, dict_flag = fhd >> 5 & 1, fhd >> 2 & 1, fhd >> 6, fhd & 3
        window = None if single else b[at]
        at += 0 if single else 1
        at += [0, 1, 2, 4][dict_flag]
        fcs_len = [1 if single else 0, 2, 4, 8][fcs_flag]
        fcs = int.from_bytes(b[at:at + fcs_len], "little") + (256 if fcs_len == 2 else 0) if fcs_len else None
        at += fcs_len
        blocks = []
        while True:
            h = int.from_bytes(b[at:at + 3], "little"); at += 3
            kind, bsize = h >> 1 & 3, h >> 3
            blocks.append((kind, bsize, at))
            at += 1 if kind == 1 else bsize
            if h & 1: break
        at += 4 if checksum else 0
        yield dict(offset=start, size=at - start, window=window, fcs=fcs, checksum=checksum, blocks=blocks)

fs = list(frames(payload))
stored = {f["fcs"]: f for f in fs if f["fcs"] is not None}
for name in ("layer.tar.gz", "layer.tar.zst", "package.deb"):
    data = blobs[name]
    f = stored.get(len(data))
    assert f, f"{name}: no stored frame of {len(data)} bytes among {[(x['fcs'], x['size']) for x in fs]}"
    nblocks = (len(data) + 131071) // 131072
    assert f["window"] == 0x38 and f["checksum"], f
    assert all(k == 0 for k, _, _ in f["blocks"]) and len(f["blocks"]) == nblocks, f"{name}: not {nblocks} raw blocks"
    assert [s for _, s, _ in f["blocks"][:-1]] == [131072] * (nblocks - 1), f"{name}: raw blocks are not 128 KiB"
    assert f["size"] == len(data) + 18 + 3 * nblocks, f"{name}: stored frame of {f['size']} bytes for {len(data)}"
    assert b"".join(payload[o:o + s] for _, s, o in f["blocks"]) == data, f"{name}: stored frame is not the data verbatim"
assert len(stored) == 3, f"want 3 stored frames, got sizes {sorted(stored)}"
assert payload.find(blobs["busybox"][:65536]) < 0, "busybox was stored, not compressed"
rest = sum(f["size"] for f in fs if f["fcs"] is None)
assert rest < len(blobs["busybox"]) * 0.8, f"the compressed frames hold {rest} bytes for busybox's {len(blobs['busybox'])}"
print(f"payload_frames: {len(fs)} frames, {len(stored)} stored; compressed rest {rest} bytes")
PY

# 5. --level keeps its meaning for compressible data: level 19 makes the compressed frames smaller.
build --output "$SCRATCH/l19.run" --level 19
size19=$("$BUNDLER" inspect --json "$SCRATCH/l19.run" | python3 -c 'import json,sys; print(json.load(sys.stdin)["trailer"]["payload_size"])')
[ "$size19" -lt "$size" ] || die "--level 19 gave a payload of $size19 bytes, not less than level 3's $size"
echo "payload_frames: ok"
