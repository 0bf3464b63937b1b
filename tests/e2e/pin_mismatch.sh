#!/usr/bin/env bash
# A pinned file whose sha256 or size does not match what the server returns: bundler build refuses,
# names the URL and both digests, and leaves no output file (nor a cached blob).
source "$(dirname "$0")/lib.sh"

W="$SCRATCH/work"
demo_workdir "$W"
want=$(sha256sum "$FIXTURES/tools/busybox" | cut -d' ' -f1)
OUT="$SCRATCH/dist/demo.run"

# Same size, different bytes (one flipped byte).
python3 - "$FIXTURES/tools/busybox" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 0xFF; open(p, "wb").write(b)
PY
got=$(sha256sum "$FIXTURES/tools/busybox" | cut -d' ' -f1)
expect_fail "build with a changed upstream file" "$BUNDLER" build --profile demo --workdir "$W" --cache "$SCRATCH/cache2" \
    --mirror "$MIRROR" --installer "$INSTALLER" --output "$OUT"
expect_output "http://demo.invalid/tools/busybox"
expect_output "sha256 mismatch: got sha256:$got, want sha256:$want"
[ ! -e "$OUT" ] && [ ! -e "$OUT.sha256" ] || die "a refused build left an output file"
[ -z "$(ls -A "$SCRATCH/dist" 2>/dev/null)" ] || die "a refused build left temporary files: $(ls -A "$SCRATCH/dist")"
[ ! -e "$SCRATCH/cache2/blobs/sha256/$want" ] && [ ! -e "$SCRATCH/cache2/blobs/sha256/$got" ] || die "a mismatching download was cached"

# Longer than pinned: refused as a size mismatch naming what was served (nothing past the pinned size
# is stored; up to 64 MiB more is hashed so the message can say what the server sent).
echo "extra" >>"$FIXTURES/tools/motd"
python3 - "$FIXTURES/tools/busybox" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 0xFF; open(p, "wb").write(b)
PY
expect_fail "build with a longer upstream file" "$BUNDLER" build --profile demo --workdir "$W" --cache "$SCRATCH/cache3" \
    --mirror "$MIRROR" --installer "$INSTALLER" --output "$OUT"
expect_output "http://demo.invalid/tools/motd"
expect_output "size mismatch: got [0-9]+ bytes \(sha256:[0-9a-f]{64}\), want [0-9]+ bytes \(sha256:[0-9a-f]{64}\)"
[ ! -e "$OUT" ] || die "a refused build left an output file"

# A damaged cache entry is re-fetched, not trusted: restore upstream, corrupt the cached copy in place.
echo "hello from the demo bundle" >"$FIXTURES/tools/motd"
build_demo "$W" "$OUT"
motd=$(sha256sum "$FIXTURES/tools/motd" | cut -d' ' -f1)
chmod u+w "$SCRATCH/cache/blobs/sha256/$motd"
echo "HELLO FROM THE DEMO BUNDLE" >"$SCRATCH/cache/blobs/sha256/$motd"
rm -f "$OUT"
build_demo "$W" "$OUT"
[ "$(sha256sum "$SCRATCH/cache/blobs/sha256/$motd" | cut -d' ' -f1)" = "$motd" ] || die "damaged cache blob was not replaced"
"$BUNDLER" verify "$OUT" >/dev/null
echo "pin_mismatch: ok"
