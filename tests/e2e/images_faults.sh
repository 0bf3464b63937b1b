#!/usr/bin/env bash
# A registry that misbehaves, through a fault proxy: a blob dropped half-way resumes with a Range request
# and the bytes already fetched are kept (and a server that ignores Range restarts it cleanly); a 429
# Too Many Requests is retried after its Retry-After; a blob whose bytes do not match its digest is
# refused, named, never cached, and leaves no bundle behind.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_images.sh"

images_fixture
"$BUNDLER" lock --profile images-test --workdir "$W" --cache "$SCRATCH/lock-cache" --mirror "docker.io=http://$REG_ANON" >/dev/null
LAYER=$("$IMAGES_PYTHON" -c 'import sys,yaml; l=yaml.safe_load(open(sys.argv[1])); print([i for i in l["images"] if i["ref"]=="busybox:1.36"][0]["platforms"][0]["layers"][0]["digest"])' "$W/images.lock")
SIZE=$(stat -c %s "$SCRATCH/layout/blobs/sha256/${LAYER#sha256:}")

# build_via NAME: builds images-test through the proxy with a fresh cache; output in $SCRATCH/out.
build_via() {
    "$BUNDLER" build --profile images-test --workdir "$W" --cache "$SCRATCH/cache-$1" --mirror "docker.io=http://$PROXY" \
        --installer "$INSTALLER" --output "$SCRATCH/$1.run" >"$SCRATCH/out" 2>&1
}

# 1. Dropped half-way, then resumed from where it stopped: the second request asks for the rest only.
images_start_proxy "$REG_ANON" "drop=$LAYER"
build_via drop || { cat "$SCRATCH/out"; die "a build with a dropped blob failed instead of resuming"; }
grep -q "blobs/$LAYER range=- .*fault=drop" "$PROXY_LOG" || die "the proxy did not drop the layer: $(cat "$PROXY_LOG")"
grep -Eq "blobs/$LAYER range=bytes=[1-9][0-9]*- auth=no status=206" "$PROXY_LOG" ||
    die "the dropped layer was not resumed with a Range request: $(grep "$LAYER" "$PROXY_LOG")"
start=$(sed -n "s#.*blobs/$LAYER range=bytes=\([0-9]*\)- .*#\1#p" "$PROXY_LOG")
[ "$start" -gt 0 ] && [ "$start" -lt "$SIZE" ] || die "the resume asked for bytes $start- of a $SIZE-byte blob"
cmp -s "$SCRATCH/cache-drop/blobs/sha256/${LAYER#sha256:}" "$SCRATCH/layout/blobs/sha256/${LAYER#sha256:}" ||
    die "the resumed layer in the cache differs from the registry's"
stop_last

# 2. Dropped, and the server ignores Range (answers 200 with everything): the download starts over.
images_start_proxy "$REG_ANON" "drop=$LAYER" ignore-range
build_via restart || { cat "$SCRATCH/out"; die "a build whose server ignored Range failed"; }
grep -Eq "blobs/$LAYER range=bytes=[0-9]+- auth=no status=200" "$PROXY_LOG" || die "no 200 answer to the Range request: $(cat "$PROXY_LOG")"
cmp -s "$SCRATCH/restart.run" "$SCRATCH/drop.run" || die "the restarted download gave another bundle"
stop_last

# 3. 429 once: retried after Retry-After (1 s), and the build succeeds.
images_start_proxy "$REG_ANON" 429-once
t0=$(date +%s%N)
build_via ratelimit || { cat "$SCRATCH/out"; die "a build after one 429 failed instead of retrying"; }
t1=$(date +%s%N)
grep -q "status=429" "$PROXY_LOG" || die "the proxy answered no 429"
[ $(((t1 - t0) / 1000000)) -ge 1000 ] || die "the retry after 429 did not wait for Retry-After: 1 ($(((t1 - t0) / 1000000)) ms)"
cmp -s "$SCRATCH/ratelimit.run" "$SCRATCH/drop.run" || die "the retried build gave another bundle"
stop_last

# 4. Corrupted bytes: refused naming the blob and both digests; not cached; no bundle.
images_start_proxy "$REG_ANON" "corrupt=$LAYER"
if build_via corrupt; then die "a build with a corrupted layer succeeded"; fi
expect_output "blob docker.io/library/busybox@$LAYER: .*sha256 mismatch: got sha256:[0-9a-f]{64}, want $LAYER"
[ ! -e "$SCRATCH/cache-corrupt/blobs/sha256/${LAYER#sha256:}" ] || die "the corrupted layer was cached"
[ -z "$(ls -A "$SCRATCH/cache-corrupt/ingest")" ] || die "the corrupted layer's partial download was left in ingest/"
[ ! -e "$SCRATCH/corrupt.run" ] || die "a refused build left a bundle"
[ "$(grep -c "blobs/$LAYER" "$PROXY_LOG")" -eq 1 ] || die "a digest mismatch was retried: $(grep "$LAYER" "$PROXY_LOG")"
echo "images_faults: ok"
