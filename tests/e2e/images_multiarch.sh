#!/usr/bin/env bash
# Multi-platform images: an amd64+arm64 index locked for a profile with both platforms (arm64 is
# linux/arm64/v8); the bundle carries the index and both platforms' manifests and configs, the shared
# layers once; a pin made for amd64 only is reported by `lock --check` for a profile that also needs
# arm64, and `lock` adds arm64 by the pinned digest (the pin does not move); a platform the index lacks
# fails naming the image and the platforms it has; a single-platform image serves only its config's.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_images.sh"

images_fixture
MIRROR="docker.io=http://$REG_ANON"
INDEX=$(images_digest "$LAYOUT" multi)
AMD=$(images_digest "$LAYOUT" app-a)
ARM=$(images_digest "$LAYOUT" multi-arm64)
PROFILE="$W/manifests/profiles/images-multi.yaml"

# 1. Pinned first for amd64 alone (the profile without its arm64 platform).
sed -i '/arch: arm64/d' "$PROFILE"
"$BUNDLER" lock --profile images-multi --workdir "$W" --cache "$SCRATCH/cache" --mirror "$MIRROR" >/dev/null
[ "$(images_lock_get "$W" pitest/multi:1 platforms)" = "linux/amd64 $AMD" ] || die "amd64-only lock: $(images_lock_get "$W" pitest/multi:1 platforms)"

# 2. The profile gains arm64: check names what is missing; lock adds it without moving the pin.
sed -i 's/^  - {os: debian, release: "12", arch: amd64}$/&\n  - {os: debian, release: "12", arch: arm64}/' "$PROFILE"
expect_fail "lock --check with a missing platform" "$BUNDLER" lock --check --profile images-multi --workdir "$W"
expect_output "multi.yaml:3: image pitest/multi:1 is pinned for linux/amd64, not for linux/arm64/v8"
expect_fail "build with a missing platform" "$BUNDLER" build --profile images-multi --workdir "$W" --cache "$SCRATCH/cache" \
    --installer "$INSTALLER" --output "$SCRATCH/x.run"
expect_output "image pitest/multi:1 is pinned in images.lock for linux/amd64 but profile images-multi needs linux/arm64/v8"
"$BUNDLER" lock --profile images-multi --workdir "$W" --cache "$SCRATCH/cache" --mirror "$MIRROR" >/dev/null
[ "$(images_lock_get "$W" pitest/multi:1 digest)" = "$INDEX" ] || die "the index pin moved"
[ "$(images_lock_get "$W" pitest/multi:1 media_type)" = "application/vnd.oci.image.index.v1+json" ] || die "the top is not the index"
[ "$(images_lock_get "$W" pitest/multi:1 platforms)" = "linux/amd64 $AMD
linux/arm64/v8 $ARM" ] || die "amd64+arm64 lock: $(images_lock_get "$W" pitest/multi:1 platforms)"
"$BUNDLER" lock --check --profile images-multi --workdir "$W" >/dev/null

# 3. The bundle: the index, both manifests, both configs, the two layers once each.
"$BUNDLER" build --profile images-multi --workdir "$W" --cache "$SCRATCH/cache" --mirror "$MIRROR" \
    --installer "$INSTALLER" --output "$SCRATCH/multi.run" >/dev/null 2>&1
"$BUNDLER" inspect --json "$SCRATCH/multi.run" >"$SCRATCH/inspect.json"
"$IMAGES_PYTHON" - "$SCRATCH/inspect.json" "$INDEX" "$AMD" "$ARM" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
index, amd, arm = sys.argv[2:5]
[img] = d["images"]
assert img["top"]["digest"] == index, img["top"]
got = [(p["platform"], p["manifest"]["digest"]) for p in img["platforms"]]
assert got == [("linux/amd64", amd), ("linux/arm64/v8", arm)], got
blobs = {b["digest"] for b in d["blobs"]}
assert len(blobs) == 7 and {index, amd, arm} <= blobs, "want 7 blobs (index, 2 manifests, 2 configs, 2 layers): %s" % sorted(blobs)
PY
"$BUNDLER" export --oci "$SCRATCH/oci" "$SCRATCH/multi.run" >/dev/null
skopeo copy -q --all "oci:$SCRATCH/oci:docker.io/pitest/multi:1" "oci:$SCRATCH/copy:m" >/dev/null || die "skopeo copy --all of the exported index failed"
[ "$(images_digest "$SCRATCH/copy" m)" = "$INDEX" ] || die "skopeo copy --all of the export changed the index digest"

# 4. A platform the index lacks: the error names the image and the platforms it has.
sed -i 's/arch: arm64}/arch: s390x}/' "$PROFILE"
expect_fail "lock for a platform the index lacks" "$BUNDLER" lock --profile images-multi --workdir "$W" --cache "$SCRATCH/cache" --mirror "$MIRROR"
expect_output "image docker.io/pitest/multi:1 has no linux/s390x manifest: its index has linux/amd64, linux/arm64/v8"

# 5. A single-platform image (busybox: a manifest, no index) serves only its config's platform.
sed -i 's/^components: \[multi\]$/components: [base]/; s/arch: s390x}/arch: arm64}/' "$PROFILE"
expect_fail "lock a single-platform image for arm64" "$BUNDLER" lock --profile images-multi --workdir "$W" --cache "$SCRATCH/cache" --mirror "$MIRROR"
expect_output "image docker.io/library/busybox:1.36 has no linux/arm64/v8 manifest: it is a single-platform image for linux/amd64"
echo "images_multiarch: ok"
