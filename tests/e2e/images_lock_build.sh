#!/usr/bin/env bash
# Images end to end on the bundler side, anonymously: `bundler lock` pins the test images (docker.io
# names served from a loopback registry through --mirror) in images.lock; `lock --check` is offline;
# `build` fetches by digest only and stores a layer shared by three images once (payload within 1% of
# the unique blobs); a later lock asks the registry nothing for images already pinned; an unpinned image
# is refused by check and build, naming it; `export --oci` gives a layout skopeo reads with the locked
# digests.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_images.sh"

images_fixture
MIRROR="docker.io=http://$REG_ANON"
lock() { "$BUNDLER" lock --profile images-test --workdir "$W" --cache "$SCRATCH/cache" "$@"; }
build() { "$BUNDLER" build --profile images-test --workdir "$W" --cache "$SCRATCH/cache" --installer "$INSTALLER" "$@"; }

# 1. lock: every digest equals what the registry holds (the layout skopeo pushed).
start=$(date +%s.%N)
lock --mirror "$MIRROR" >"$SCRATCH/out"
expect_output "images.lock: 3 images pinned, 0 already pinned"
for pair in "busybox:1.36 busybox" "pitest/app-a:1 app-a" "docker.io/pitest/app-b:1 app-b"; do
    set -- $pair
    [ "$(images_lock_get "$W" "$1" digest)" = "$(images_digest "$LAYOUT" "$2")" ] ||
        die "images.lock pins $1 at $(images_lock_get "$W" "$1" digest), the registry has $(images_digest "$LAYOUT" "$2")"
done
[ "$(images_lock_get "$W" busybox:1.36 name)" = docker.io/library/busybox ] || die "busybox:1.36 is not normalised to docker.io/library/busybox"
cp "$W/images.lock" "$SCRATCH/first.lock"

# 2. build --fetch-only: by digest only, into the cache, no .run; then the registry goes away, and the
#    build from that cache, check and re-lock are all offline.
RUN="$SCRATCH/dist/images-test.run"
build --mirror "$MIRROR" --output "$RUN" --fetch-only >"$SCRATCH/out"
expect_output "fetched profile images-test into .* \(9 blobs, .*\); bundler build with this --cache needs no network"
[ ! -e "$RUN" ] || die "build --fetch-only wrote a .run"
kill "${_PIDS[0]}"; wait "${_PIDS[0]}" 2>/dev/null || true
build --mirror "$MIRROR" --output "$RUN" >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out"; die "the build after --fetch-only needed the (stopped) registry"; }
end=$(date +%s.%N)
echo "lock+build of 3 images (anonymous, cold cache): $(echo "$end - $start" | bc) s"
lock --check >"$SCRATCH/out" || { cat "$SCRATCH/out"; die "lock --check fails offline on a fresh lock"; }
expect_output "3 images"
lock --mirror "$MIRROR" >"$SCRATCH/out" || { cat "$SCRATCH/out"; die "a lock with every image pinned contacted the (stopped) registry"; }
expect_output "0 images pinned, 3 already pinned"
cmp -s "$W/images.lock" "$SCRATCH/first.lock" || die "a lock with nothing to do changed images.lock"

# 3. The bundle: three images, each blob once; the 5 MiB base layer shared by all three is stored once.
"$BUNDLER" inspect --json "$RUN" >"$SCRATCH/inspect.json"
"$IMAGES_PYTHON" - "$SCRATCH/inspect.json" "$W/images.lock" <<'PY'
import json, sys, yaml
d = json.load(open(sys.argv[1]))
lock = {i["ref"]: i for i in yaml.safe_load(open(sys.argv[2]))["images"]}
images = {i["ref"]: i for i in d["images"]}
assert set(images) == set(lock), "bundle.json images %s, images.lock %s" % (sorted(images), sorted(lock))
assert images["docker.io/pitest/app-b:1"]["import"] and images["docker.io/pitest/app-b:1"]["roles"] == ["master"], images["docker.io/pitest/app-b:1"]
for ref, i in images.items():
    assert i["top"]["digest"] == lock[ref]["digest"], "%s: bundle top %s, lock %s" % (ref, i["top"]["digest"], lock[ref]["digest"])
blobs = [b["digest"] for b in d["blobs"]]
assert len(blobs) == len(set(blobs)), "a blob is listed twice"
unique = {}
for i in images.values():
    for p in i["platforms"]:
        for x in [i["top"], p["manifest"], p["config"]] + p["layers"]:
            unique[x["digest"]] = x["size"]
assert set(unique) <= set(blobs), "image blobs missing from the blob list: %s" % (set(unique) - set(blobs))
assert len(unique) == 9, "want 9 unique blobs (3 manifests, 3 configs, base layer, 2 own layers), got %d" % len(unique)
payload = d["trailer"]["payload_size"]
total = sum(unique.values())
print("payload %d bytes, unique image blobs %d bytes (%.2f%%)" % (payload, total, 100.0 * (payload - total) / total))
assert abs(payload - total) <= total / 100, "payload %d bytes is not within 1%% of the unique blobs' %d bytes" % (payload, total)
PY
"$RUN" --check >/dev/null 2>&1 || die "the installer's --check refuses the images bundle"

# 4. export --oci: skopeo reads the layout; digests are the locked ones.
"$BUNDLER" export --oci "$SCRATCH/oci" "$RUN" >/dev/null
for ref in docker.io/library/busybox:1.36 docker.io/pitest/app-a:1 docker.io/pitest/app-b:1; do
    short=${ref#docker.io/}; short=${short#library/}
    [ "$short" = pitest/app-b:1 ] && short=docker.io/pitest/app-b:1
    want=$(images_lock_get "$W" "$short" digest)
    got=$(skopeo inspect --raw "oci:$SCRATCH/oci:$ref" | sha256sum | cut -d' ' -f1)
    [ "sha256:$got" = "$want" ] || die "export: $ref has manifest sha256:$got, images.lock pins $want"
    skopeo copy -q "oci:$SCRATCH/oci:$ref" "oci:$SCRATCH/copy:$ref" >/dev/null || die "skopeo copy from the exported layout failed for $ref"
done
[ "$(images_digest "$SCRATCH/copy" docker.io/pitest/app-a:1)" = "$(images_lock_get "$W" pitest/app-a:1 digest)" ] ||
    die "skopeo copy of the export changed the manifest digest"
expect_fail "export into a non-empty folder" "$BUNDLER" export --oci "$SCRATCH/oci" "$RUN"
expect_output "not empty"

# 5. A new image in a component: lock --check and build refuse it, naming it and where it is written.
echo "  - pitest/not-pinned:2" >>"$W/manifests/components/base.yaml"
expect_fail "lock --check with an unpinned image" "$BUNDLER" lock --check --profile images-test --workdir "$W"
expect_output "base.yaml:4: image pitest/not-pinned:2 is not pinned"
expect_fail "build with an unpinned image" build --output "$SCRATCH/unpinned.run"
expect_output "base.yaml:4: image pitest/not-pinned:2 is not pinned in images.lock"
[ ! -e "$SCRATCH/unpinned.run" ] || die "a refused build left an output file"

# 6. A malformed reference is refused with file:line and why.
echo "  - Upper/Case:1" >"$SCRATCH/line"; sed -i '$d' "$W/manifests/components/base.yaml"; cat "$SCRATCH/line" >>"$W/manifests/components/base.yaml"
expect_fail "lock --check with an upper-case reference" "$BUNDLER" lock --check --profile images-test --workdir "$W"
expect_output "base.yaml:4: field 'images\[1\]': image reference 'Upper/Case:1': .*not a valid repository name"
echo "images_lock_build: ok"
