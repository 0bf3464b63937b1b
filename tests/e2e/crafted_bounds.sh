#!/usr/bin/env bash
# Bounded checks of an untrusted bundle: a small crafted file must not make `bundler verify`, `--check`,
# `--info` or `--extract DIR` do unbounded work. Each crafted case (a tar size that differs from
# bundle.json or the trailer, gigabytes of zeros after the end of the archive, trailer sizes beyond the
# file, pax lengths and sizes that would wrap, bundle.json integers that would wrap or truncate) is under
# 1 MiB, refused within one second with a message naming what is wrong, and --extract leaves DIR absent.
# The bundles are made by craft_bundle.py, an independent implementation of docs/bundle-format.md (its
# zero runs are hand-made zstd RLE frames, 4 bytes per 128 KiB); well-formed crafted bundles must pass
# first, so a refusal cannot come from a crafting mistake. Files are named neutrally (case-N.run) so that
# no pattern can match the file's own name.
source "$(dirname "$0")/lib.sh"

command -v zstd >/dev/null || skip "needs the zstd command-line tool"
command -v timeout >/dev/null || skip "needs timeout (coreutils)"

# A bundle's installer part is only hashed by these commands, so a stub (the real ELF header) keeps each
# crafted file small; the installer reads it with --bundle.
STUB="$SCRATCH/stub"
head -c 64 "$INSTALLER" >"$STUB"
CRAFT=(python3 "$SRC/tests/e2e/craft_bundle.py" --installer "$STUB")
BIG=25769803776 # 24 GiB of zeros: minutes of decompressing and hashing for a reader that reads them
LIMIT_MS=1000

BLOB="$SCRATCH/hello.txt"
echo "hello from a crafted bundle" >"$BLOB"
HEX=$(sha256sum "$BLOB" | cut -d' ' -f1)
SIZE=$(stat -c %s "$BLOB")
ZSIZE=2097153 # a genuine all-zero blob, large enough to be crafted as RLE frames
ZHEX=$(head -c "$ZSIZE" /dev/zero | sha256sum | cut -d' ' -f1)

# write_index OUT [zero] [KEY=VALUE...]: a bundle.json listing $BLOB (and the zero blob with "zero");
# each KEY=VALUE replaces one JSON value verbatim (format, created, blob_size, file_size, deb_size,
# cpus, memory, disk).
write_index() {
    local out=$1 zero=""
    shift
    [ "${1:-}" != zero ] || { zero=yes; shift; }
    local format=1 created=$SOURCE_DATE_EPOCH blob_size=$SIZE file_size=$SIZE deb_size=$SIZE cpus=1 memory=0.001 disk=0.001
    local kv
    for kv in "$@"; do local "$kv"; done
    local blobs
    blobs=$({ echo "$HEX $blob_size"; [ -z "$zero" ] || echo "$ZHEX $ZSIZE"; } | sort |
        awk '{ printf "%s{\"digest\": \"sha256:%s\", \"size\": %s}", (NR > 1 ? ", " : ""), $1, $2 }')
    cat >"$out" <<EOF
{
  "blobs": [$blobs],
  "created": $created,
  "debs": {"debian-12": [{"architecture": "amd64", "digest": "sha256:$HEX", "filename": "pool/h/hello.deb",
                          "name": "hello", "size": $deb_size, "version": "1"}]},
  "files": [{"digest": "sha256:$HEX", "install": "/opt/bounds-test/hello", "mode": "0644", "name": "hello",
             "size": $file_size}],
  "format": $format,
  "platforms": [{"arch": "amd64", "os": "debian", "release": "12"}],
  "profile": "bounds-test",
  "roles": {"master": {"minima": {"cpus": $cpus, "disk_gb": $disk, "memory_gb": $memory}, "phases": ["preflight"]}},
  "version": "0.0.1"
}
EOF
}
INDEX="$SCRATCH/index.json"
write_index "$INDEX"
ISIZE=$(stat -c %s "$INDEX")

TIMES=""
# timed WHAT ok|fail CMD...: CMD must succeed (ok) or exit 1 (fail) within LIMIT_MS; it is killed after
# 20 s so that unbounded work fails the test instead of hanging it. Output in $SCRATCH/out.
timed() {
    local what=$1 want=$2 rc=0 t0 t1 ms
    shift 2
    t0=$(date +%s%N)
    timeout 20 "$@" >"$SCRATCH/out" 2>&1 || rc=$?
    t1=$(date +%s%N)
    ms=$(((t1 - t0) / 1000000))
    [ "$rc" -ne 124 ] || die "$what: still running after 20 s (unbounded work)"
    if [ "$want" = ok ]; then
        [ "$rc" -eq 0 ] || { cat "$SCRATCH/out" >&2; die "$what: failed (exit $rc) but must pass"; }
    else
        [ "$rc" -eq 1 ] || { cat "$SCRATCH/out" >&2; die "$what: exit $rc, want 1 (refused)"; }
    fi
    [ "$ms" -lt "$LIMIT_MS" ] || die "$what: took $ms ms, the limit is $LIMIT_MS ms"
    TIMES+="  $what: $ms ms"$'\n'
}

N=0
# crafted [zero] ARGS...: crafts the next case-N.run from $INDEX (or from the index listing the zero
# blob); sets RUN and checks it is under 1 MiB.
crafted() {
    local index=$INDEX
    [ "$1" != zero ] || { index="$SCRATCH/index-zero.json"; shift; }
    N=$((N + 1))
    RUN="$SCRATCH/case-$N.run"
    "${CRAFT[@]}" --index "$index" --out "$RUN" "$@"
    local size
    size=$(stat -c %s "$RUN")
    [ "$size" -lt 1048576 ] || die "case-$N: crafted file is $size bytes, not under 1 MiB"
}

# passes WHAT: every command accepts $RUN within the limit.
passes() {
    local dir="$SCRATCH/x-$N"
    timed "$1: bundler verify" ok "$BUNDLER" verify "$RUN"
    timed "$1: --check" ok "$INSTALLER" --bundle "$RUN" --check
    expect_output "^ok: bounds-test 0\.0\.1: installer, payload \([0-9]+ blobs\) and trailer digests match"
    timed "$1: --info" ok "$INSTALLER" --bundle "$RUN" --info
    timed "$1: --extract" ok "$INSTALLER" --bundle "$RUN" --extract "$dir"
    cmp "$BLOB" "$dir/blobs/sha256/$HEX"
    echo "ok: $1 passes"
}

# refused WHAT PATTERN [info-passes]: every command refuses $RUN within the limit, its message matching
# PATTERN; --extract leaves DIR absent. With info-passes, --info (which reads only the trailer and
# bundle.json, by design) must instead succeed, within the limit too.
refused() {
    local what=$1 pattern=$2 info=${3:-} dir="$SCRATCH/x-$N"
    timed "$what: bundler verify" fail "$BUNDLER" verify "$RUN"
    expect_output "$pattern"
    timed "$what: --check" fail "$INSTALLER" --bundle "$RUN" --check
    expect_output "$pattern"
    if [ "$info" = info-passes ]; then
        timed "$what: --info (bundle.json only)" ok "$INSTALLER" --bundle "$RUN" --info
    else
        timed "$what: --info" fail "$INSTALLER" --bundle "$RUN" --info
        expect_output "$pattern"
    fi
    timed "$what: --extract" fail "$INSTALLER" --bundle "$RUN" --extract "$dir"
    expect_output "$pattern"
    [ ! -e "$dir" ] || [ -z "$(ls -A "$dir")" ] || die "$what: --extract left $(find "$dir")"
    echo "ok: $what refused"
}

# --- Controls: the crafter's well-formed variants pass, so each refusal below is the reader's. ---
crafted --blob "$BLOB"
passes "well-formed"
# Exactly one tar record (10240 bytes) of zeros after the first end-of-archive block: the limit.
crafted --blob "$BLOB" --end-blocks 1 --end-zeros 10240
passes "10240 bytes of end padding"
# A genuine all-zero blob written as RLE frames, then the ordinary blob: the frames are valid zstd.
write_index "$SCRATCH/index-zero.json" zero
crafted zero --blob "$BLOB" --zero-member "blobs/sha256/$ZHEX=$ZSIZE"
passes "RLE-framed zero blob"
# A verbatim pax header whose path and size records match the entry.
pax_record() { # pax_record KEY VALUE: "<len> KEY=VALUE\n" with the length that counts itself
    python3 -c 'import sys
k, v = sys.argv[1], sys.argv[2]
n = len(k) + len(v) + 3
while len(k) + len(v) + 3 + len(str(n)) != n:
    n = len(k) + len(v) + 3 + len(str(n))
print(f"{n} {k}={v}\\n", end="")' "$1" "$2"
}
crafted --no-index-member --raw-pax "$(pax_record path bundle.json)$(pax_record size "$ISIZE")" \
    --file "bundle.json=$INDEX" --blob "$BLOB"
passes "raw pax records"

# --- 1. Tar sizes that differ from what bundle.json and the trailer list: refused before reading. ---
crafted --zero-member "blobs/sha256/$HEX=$BIG"
refused "blob tar size" "payload entry blobs/sha256/$HEX: size mismatch: tar size $BIG bytes, bundle\.json lists $SIZE bytes" info-passes
crafted --no-index-member --zero-member "bundle.json=16777216" --blob "$BLOB"
refused "bundle.json tar size" "bundle\.json: size mismatch: tar size 16777216 bytes, the trailer's bundle_json_size is $ISIZE bytes"

# --- 2. Zero padding after the end of the archive is capped at one tar record. ---
crafted --blob "$BLOB" --end-blocks 1 --end-zeros "$BIG"
refused "$BIG zero bytes of end padding" "payload: more than 10240 bytes of zero padding after the end-of-archive block" info-passes
crafted --blob "$BLOB" --end-blocks 1 --end-zeros 10241
refused "10241 zero bytes of end padding" "payload: more than 10240 bytes of zero padding after the end-of-archive block" info-passes

# --- 3. Trailer sizes that wrap 64 bits to add up to the file size; pax numbers that would wrap. ---
crafted --blob "$BLOB"
S=$(stat -c %s "$RUN")
HALF=9223372036854775808 # 2^63: with payload_size 2^63 + S - 288, the sum wraps to exactly S
crafted --blob "$BLOB" --trailer-installer-size "$HALF" \
    --trailer-payload-size "$(python3 -c "print((2**63 + $S - 288) % 2**64)")"
refused "wrapping installer size" "trailer installer size $HALF is larger than the file \($S bytes\)"
crafted --blob "$BLOB" --trailer-payload-size 18446744073709551615
refused "payload size beyond the file" "trailer payload size 18446744073709551615 is larger than the file \($S bytes\)"
crafted --no-index-member --raw-pax '9999999999999999999999999 path=bundle.json\n' --file "bundle.json=$INDEX" --blob "$BLOB"
refused "25-digit pax length" "pax header: record length 9999999999999999999999999 is out of range"
# 2^64 + 38: wrapped, it is this 38-byte record's true length, and a wrapping reader accepts the bundle.
crafted --no-index-member --raw-pax '18446744073709551654 path=bundle.json\n' --file "bundle.json=$INDEX" --blob "$BLOB"
refused "pax length wrapping to 38" "pax header: record length 18446744073709551654 is out of range"
# 2^64 + the real size: wrapped, it is bundle.json's true size, and a wrapping reader accepts the bundle.
WRAP=$(python3 -c "print(2**64 + $ISIZE)")
crafted --no-index-member --raw-pax "$(pax_record size "$WRAP")" --file "bundle.json=$INDEX" --blob "$BLOB"
refused "pax size over 64 bits" "pax header: size $WRAP does not fit in 64 bits"

# --- 4. bundle.json integers that get<T>() would wrap or truncate, and minima that are not sizes. ---
bad_index() { # bad_index WHAT PATTERN KEY=VALUE: a bundle.json with one bad value, refused naming it
    local bad="$SCRATCH/index-$((N + 1)).json"
    write_index "$bad" "$3"
    N=$((N + 1))
    RUN="$SCRATCH/case-$N.run"
    "${CRAFT[@]}" --index "$bad" --out "$RUN" --blob "$BLOB"
    refused "$1" "$2"
}
bad_index "blob size -1" "bundle\.json: blobs\[0\]\.size: -1 is not a non-negative integer" blob_size=-1
bad_index "blob size 18446744073709551616" "bundle\.json: blobs\[0\]\.size: 1\.8446744073709552e\+19 is out of range \(0 to 18446744073709551615\)" \
    blob_size=18446744073709551616
bad_index "file size 2.5" "bundle\.json: files\[hello\]\.size: 2\.5 is not a non-negative integer" file_size=2.5
bad_index "deb size 1e30" "bundle\.json: debs\[debian-12\]\[hello\]\.size: 1e\+30 is out of range" deb_size=1e30
bad_index "format -1" "bundle\.json: format: -1 is not a non-negative integer" format=-1
bad_index "format 2^64" "bundle\.json: format: 1\.8446744073709552e\+19 is out of range \(0 to 4294967295\)" format=18446744073709551616
bad_index "format 1.5" "bundle\.json: format: 1\.5 is not a non-negative integer" format=1.5
bad_index "created 1e30" "bundle\.json: created: 1e\+30 is out of range \(-9223372036854775808 to 9223372036854775807\)" created=1e30
bad_index "created 2.5" "bundle\.json: created: 2\.5 is not an integer" created=2.5
bad_index "cpus -1" "bundle\.json: roles\[master\]\.minima\.cpus: -1 is not a non-negative integer" cpus=-1
bad_index "cpus 2.5" "bundle\.json: roles\[master\]\.minima\.cpus: 2\.5 is not a non-negative integer" cpus=2.5
bad_index "cpus 2^32" "bundle\.json: roles\[master\]\.minima\.cpus: 4294967296 is out of range \(0 to 4294967295\)" cpus=4294967296
bad_index "memory -1" "bundle\.json: roles\[master\]\.minima\.memory_gb: -1 is not a finite non-negative number" memory=-1
bad_index "disk -0.5" "bundle\.json: roles\[master\]\.minima\.disk_gb: -0\.5 is not a finite non-negative number" disk=-0.5

echo "$TIMES"
echo "crafted_bounds: $N crafted files, each under 1 MiB, each refusal within $LIMIT_MS ms"
