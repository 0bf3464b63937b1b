#!/usr/bin/env bash
# A local repository of real .deb files (downloaded by scripts/setup with apt-get download), indexed
# with apt-ftparchive, its Release signed with a throwaway gpg key, served on loopback, is locked
# (bundler lock -> debs.lock) and fetched into a bundle (bundler build). Refused, each naming the file:
# a Packages whose hash does not match the Release, a .deb whose sha256 does not match its pin, an
# unsigned Release and a Release signed by another key. The target's second source is this machine's
# Debian lists (signed by Debian) for the base set.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_apt.sh"

# 1. Lock: the closure of jq and socat beyond the base set, every package from the local repository
#    (it is the first source and has the same versions), with the sha256 and size of the real file.
lock >"$SCRATCH/out"
python3 - "$W/debs.lock" "$R" <<'PY'
import hashlib, os, sys, yaml
lock = yaml.safe_load(open(sys.argv[1]))
t = {x["name"]: x for x in lock["targets"]}["debian-12"]
assert t["requested"] == ["jq", "socat"], t["requested"]
assert len(t["sources"]) >= 2 and t["sources"][0]["source"].startswith("http://repo.invalid/repo stable main")
pkgs = t["packages"]
names = [p["name"] for p in pkgs]
assert names == sorted(names), "packages are not sorted"
assert {"jq", "libjq1", "libonig5", "socat"} <= set(names), names
for p in pkgs:
    assert p["source"] == "http://repo.invalid/repo", p
    f = os.path.join(sys.argv[2], p["path"])
    data = open(f, "rb").read()
    assert p["size"] == len(data) and p["sha256"] == hashlib.sha256(data).hexdigest(), p
print(len(pkgs), "pinned")
PY
cp "$W/debs.lock" "$SCRATCH/debs.lock.first"
lock >/dev/null
cmp "$W/debs.lock" "$SCRATCH/debs.lock.first" || die "a second lock changed debs.lock"
lock --update >/dev/null
cmp "$W/debs.lock" "$SCRATCH/debs.lock.first" || die "re-resolving the same indexes gave a different debs.lock"
"$BUNDLER" lock --check --profile debs --workdir "$W" >/dev/null

# 2. Build: every pinned .deb fetched (verified) into the bundle and listed under the target.
build --output "$SCRATCH/debs.run" >/dev/null
"$SCRATCH/debs.run" --check >/dev/null 2>&1 || die "--check of the bundle with debs"
"$BUNDLER" inspect --json "$SCRATCH/debs.run" | python3 -c '
import json, sys, yaml
b = json.load(sys.stdin); lock = yaml.safe_load(open(sys.argv[1]))["targets"][0]["packages"]
got = {(d["name"], d["version"], d["digest"]) for d in b["debs"]["debian-12"]}
want = {(p["name"], p["version"], "sha256:" + p["sha256"]) for p in lock}
assert got == want, (got ^ want)
assert want <= {(n, v, x["digest"]) for n, v, _ in want for x in b["blobs"] if x["digest"] == _}
' "$W/debs.lock"
"$SCRATCH/debs.run" --extract "$SCRATCH/x" >/dev/null 2>&1
python3 - "$W/debs.lock" "$R" <<'PY' | while read -r deb; do
import sys, yaml
for p in yaml.safe_load(open(sys.argv[1]))["targets"][0]["packages"]: print(sys.argv[2] + "/" + p["path"])
PY
    [ -f "$SCRATCH/x/blobs/sha256/$(sha256sum "$deb" | cut -d' ' -f1)" ] || die "$(basename "$deb") is not in the bundle"
done

# 3. The manifests ask for more than the lock holds: lock --check and build refuse.
sed -i 's/debs: \[jq, socat\]/debs: [jq, socat, curl]/' "$W/manifests/components/tools.yaml"
expect_fail "lock --check with a new deb" "$BUNDLER" lock --check --profile debs --workdir "$W"
expect_output "debs.lock target debian-12 was resolved for \[jq, socat\], the manifests request \[curl, jq, socat\]"
expect_fail "build with a new deb" build --output "$SCRATCH/unpinned.run"
expect_output "run .bundler lock --profile debs."
[ ! -e "$SCRATCH/unpinned.run" ] || die "a refused build left its output"
sed -i 's/debs: \[jq, socat, curl\]/debs: [jq, socat]/' "$W/manifests/components/tools.yaml"

# 4. A .deb whose sha256 does not match its pin: the repository now serves another file.
socat=$(ls "$R"/pool/main/socat_*.deb)
want=$(sha256sum "$socat" | cut -d' ' -f1)
cp "$socat" "$SCRATCH/socat.orig"
cp "$(ls "$R"/pool/main/jq_*.deb)" "$socat"
got=$(sha256sum "$socat" | cut -d' ' -f1)
got_size=$(stat -c %s "$socat"); want_size=$(stat -c %s "$SCRATCH/socat.orig")
[ "$got_size" -ne "$want_size" ] || die "the stand-in .deb has the pinned size: this step wants a size mismatch"
CACHE="$SCRATCH/cache-fresh" expect_fail "build with a changed .deb" build --output "$SCRATCH/bad-deb.run"
expect_output "fetch http://repo.invalid/repo/pool/main/$(basename "$socat")"
# Both sizes and both digests: what was served and what was pinned.
expect_output "size mismatch: got $got_size bytes \(sha256:$got\), want $want_size bytes \(sha256:$want\)"
[ ! -e "$SCRATCH/bad-deb.run" ] || die "a refused build left its output"
cp "$SCRATCH/socat.orig" "$socat"

# 5. A Packages whose hash does not match the (correctly signed) Release. (A fresh cache from here on:
#    the cache holds blobs by digest, so a good copy would be used instead of the server's.)
export CACHE="$SCRATCH/cache-5"
cp -r "$R/dists" "$SCRATCH/dists.good"
xz -dc "$R/dists/stable/main/binary-amd64/Packages.xz" | sed 's/^Version: 1.7.4.4-2$/Version: 1.7.4.4-9/' | xz >"$SCRATCH/Packages.xz"
mv "$SCRATCH/Packages.xz" "$R/dists/stable/main/binary-amd64/Packages.xz"
expect_fail "lock with a tampered Packages" lock --update
expect_output "dists/stable/main/binary-amd64/Packages.xz"
expect_output "sha256 mismatch|size mismatch"
cmp "$W/debs.lock" "$SCRATCH/debs.lock.first" || die "a refused lock changed debs.lock"
rm -rf "$R/dists"; cp -r "$SCRATCH/dists.good" "$R/dists"

# 6. An unsigned Release (no InRelease, no Release.gpg).
rm "$R/dists/stable/InRelease" "$R/dists/stable/Release.gpg"
expect_fail "lock with an unsigned Release" lock --update
expect_output "http://repo.invalid/repo/dists/stable/Release is not signed"

# 7. A Release signed by a key that is not the source's keyring.
sign_repo "else@test.invalid"
expect_fail "lock with a wrongly signed Release" lock --update
expect_output "http://repo.invalid/repo/dists/stable/InRelease: signature check failed"
cmp "$W/debs.lock" "$SCRATCH/debs.lock.first" || die "a refused lock changed debs.lock"

# ... and the detached signature alone, when there is no InRelease.
rm "$R/dists/stable/InRelease"
expect_fail "lock with a wrongly signed Release.gpg" lock --update
expect_output "http://repo.invalid/repo/dists/stable/Release: signature check failed"
# 8. A flat repository ("deb URL ./", as NVIDIA's) with only Packages.gz, signed by its own key.
rm -rf "$R/dists"; cp -r "$SCRATCH/dists.good" "$R/dists"
F="$SCRATCH/srv/flat"
mkdir -p "$F"
cp "$FIX"/jq_*.deb "$FIX"/libjq1_*.deb "$FIX"/libonig5_*.deb "$F/"
(cd "$F" && apt-ftparchive packages . | gzip -n >Packages.gz && apt-ftparchive release . >Release)
gpg --batch -q --yes --pinentry-mode loopback --passphrase '' -u "repo@test.invalid" --clearsign -o "$F/InRelease" "$F/Release"
sed -i 's|  - {url: http://repo.invalid/repo, suite: stable, components: \[main\], keyring: \(.*\)}|  - {url: http://repo.invalid/flat, flat: true, keyring: \1}|' "$W/manifests/targets/debian-12.yaml"
grep -q "flat: true" "$W/manifests/targets/debian-12.yaml" || die "could not switch the target to the flat repository"
sed -i 's/debs: \[jq, socat\]/debs: [jq]/' "$W/manifests/components/tools.yaml"
export CACHE="$SCRATCH/cache-8"
lock >/dev/null
python3 - "$W/debs.lock" <<'PY'
import sys, yaml
t = {x["name"]: x for x in yaml.safe_load(open(sys.argv[1]))["targets"]}["debian-12"]
assert t["requested"] == ["jq"] and t["sources"][0]["source"] == "http://repo.invalid/flat ./", t["sources"]
pk = {p["name"]: p for p in t["packages"]}
assert set(pk) == {"jq", "libjq1", "libonig5"}, sorted(pk)
assert all(p["source"] == "http://repo.invalid/flat" and p["path"].startswith("./") for p in pk.values()), pk
PY
build --output "$SCRATCH/flat.run" >/dev/null
"$SCRATCH/flat.run" --check >/dev/null 2>&1 || die "--check of the bundle from the flat repository"
echo "apt_repo: locked, built and refused as expected"
