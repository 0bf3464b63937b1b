#!/usr/bin/env bash
# bundler build and bundler lock killed with SIGKILL leave temp files beside their outputs and partial
# downloads in the cache's ingest/; the next run removes them and ends byte-identical to a clean run.
# A bundler still running against the same cache keeps its ingest file: each writer holds an flock on
# its temp file, and the cleaner removes only files it can lock. Kills are real: the failpoints of
# PLATFORM_INSTALLER_FAILPOINT make the bundler SIGKILL itself (fetch.blob_partial: first bytes of a
# download written; build.blob_written: a blob written into the output; io.temp_written: a lock file or
# .sha256 written to its temp file, not yet renamed) or sleep there.
source "$(dirname "$0")/lib.sh"
for tool in gpg gpgconf; do command -v "$tool" >/dev/null || skip "needs $tool"; done

# Fixtures on loopback: the demo's files, and a flat apt repository (signed by a throwaway key) with one
# package, so that lock writes debs.lock too.
FIXTURES="$SCRATCH/srv"
mkdir -p "$FIXTURES/tools" "$FIXTURES/flat"
cp /bin/busybox "$FIXTURES/tools/busybox"
echo "hello from the demo bundle" >"$FIXTURES/tools/motd"
# A real .deb (the build reads its control file for the node's Packages), big enough to kill mid-download.
deb=$FIXTURES/flat/hello_1.0_amd64.deb
mkdir -p "$SCRATCH/hello/DEBIAN" "$SCRATCH/hello/usr/share/hello"
printf 'Package: hello\nVersion: 1.0\nArchitecture: amd64\nMaintainer: Nobody <nobody@test.invalid>\nDescription: a stand-in package\n' \
    >"$SCRATCH/hello/DEBIAN/control"
head -c 1500000 /dev/urandom >"$SCRATCH/hello/usr/share/hello/data"
dpkg-deb -Znone --root-owner-group --build "$SCRATCH/hello" "$deb" >/dev/null
cat >"$FIXTURES/flat/Packages" <<EOF
Package: hello
Version: 1.0
Architecture: amd64
Maintainer: Nobody <nobody@test.invalid>
Priority: optional
Filename: ./hello_1.0_amd64.deb
Size: $(stat -c %s "$deb")
SHA256: $(sha256sum "$deb" | cut -d' ' -f1)
Description: a stand-in package

EOF
cat >"$FIXTURES/flat/Release" <<EOF
Origin: kill-test
Date: Tue, 14 Nov 2023 22:13:20 UTC
SHA256:
 $(sha256sum "$FIXTURES/flat/Packages" | cut -d' ' -f1) $(stat -c %s "$FIXTURES/flat/Packages") Packages
EOF
export GNUPGHOME="$SCRATCH/gnupg"
mkdir -m 700 "$GNUPGHOME"
gpg --batch -q --passphrase '' --quick-gen-key "Kill Test <kill@test.invalid>" ed25519 sign never 2>/dev/null
gpg --batch -q --export kill@test.invalid >"$SCRATCH/kill-key.gpg"
gpg --batch -q --yes --pinentry-mode loopback --passphrase '' -u kill@test.invalid --clearsign \
    -o "$FIXTURES/flat/InRelease" "$FIXTURES/flat/Release"
gpgconf --kill gpg-agent 2>/dev/null || true
start_http "$FIXTURES"
MIRRORS=(--mirror "demo.invalid=http://127.0.0.1:$HTTP_PORT" --mirror "kill.invalid=http://127.0.0.1:$HTTP_PORT/flat")

# workdir DIR: the repo's manifests plus a one-platform profile with the demo files and the package.
workdir() {
    mkdir -p "$1"
    cp -r "$SRC/manifests" "$1/"
    cat >"$1/manifests/profiles/kill.yaml" <<'YAML'
name: kill
version: 0.1.0
platforms: [{os: debian, release: "12", arch: amd64}]
components: [demo-tools, kill-debs]
roles:
  master: {phases: [preflight, store, binaries], minima: {cpus: 1, memory_gb: 1, disk_gb: 1}}
YAML
    printf 'name: kill-debs\ndebs: [hello]\n' >"$1/manifests/components/kill-debs.yaml"
    cat >"$1/manifests/targets/debian-12.yaml" <<YAML
name: debian-12
os: debian
release: "12"
arch: amd64
sources:
  - {url: http://kill.invalid, flat: true, keyring: $SCRATCH/kill-key.gpg}
base: {priority_required: false}
YAML
}
lock() { "$BUNDLER" lock --profile kill --workdir "$1" --cache "$2" "${MIRRORS[@]}"; }
build() { "$BUNDLER" build --profile kill --workdir "$1" --cache "$2" "${MIRRORS[@]}" --installer "$INSTALLER" --output "$3"; }
# killed FAILPOINT CMD...: CMD must die of SIGKILL at the failpoint.
killed() {
    local fp=$1 rc=0; shift
    PLATFORM_INSTALLER_FAILPOINT=$fp "$@" >"$SCRATCH/out" 2>&1 || rc=$?
    [ "$rc" -eq 137 ] || { cat "$SCRATCH/out" >&2; die "$fp: want exit 137 (SIGKILL), got $rc"; }
}
# leftovers DIR REGEX: how many entries of DIR match.
leftovers() { ls -A "$1" | grep -Ec "$2" || true; }

# Reference: a clean lock and a clean build.
workdir "$SCRATCH/ref"
lock "$SCRATCH/ref" "$SCRATCH/cache-ref" >/dev/null
build "$SCRATCH/ref" "$SCRATCH/cache-ref" "$SCRATCH/ref/dist/kill.run" >/dev/null

# 1. bundler lock killed mid-download, then while writing binaries.lock, then debs.lock.
W="$SCRATCH/work"
workdir "$W"
C="$SCRATCH/cache"
killed fetch.blob_partial=kill lock "$W" "$C"
[ "$(leftovers "$C/ingest" .)" -eq 1 ] || die "lock killed mid-download left no partial file in ingest/"
killed io.temp_written=kill lock "$W" "$C"
[ "$(leftovers "$C/ingest" .)" -eq 0 ] || die "the next lock did not remove the partial download: $(ls -A "$C/ingest")"
[ "$(leftovers "$W" '^\.binaries\.lock\.tmp-.{6}$')" -eq 1 ] && [ ! -e "$W/binaries.lock" ] ||
    die "lock killed while writing binaries.lock left no temp file: $(ls -A "$W")"
killed io.temp_written@2=kill lock "$W" "$C"
[ "$(leftovers "$W" '^\.binaries\.lock\.tmp-')" -eq 0 ] || die "the next lock did not remove .binaries.lock.tmp-*"
[ "$(leftovers "$W" '^\.debs\.lock\.tmp-.{6}$')" -eq 1 ] && [ ! -e "$W/debs.lock" ] ||
    die "lock killed while writing debs.lock left no temp file: $(ls -A "$W")"
lock "$W" "$C" >/dev/null
[ "$(leftovers "$W" '\.tmp-')" -eq 0 ] || die "temp files left beside the locks: $(ls -A "$W")"
cmp "$W/binaries.lock" "$SCRATCH/ref/binaries.lock" || die "binaries.lock differs from a clean lock's"
cmp "$W/debs.lock" "$SCRATCH/ref/debs.lock" || die "debs.lock differs from a clean lock's"

# 2. bundler build killed mid-download (fresh cache), after a blob went into the output, and while
#    writing the .sha256; each next run cleans what the last one left; the last one is a clean build.
C="$SCRATCH/cache-build"
D="$SCRATCH/dist"
killed fetch.blob_partial=kill build "$W" "$C" "$D/kill.run"
[ "$(leftovers "$C/ingest" .)" -eq 1 ] || die "build killed mid-download left no partial file in ingest/"
killed build.blob_written=kill build "$W" "$C" "$D/kill.run"
[ "$(leftovers "$C/ingest" .)" -eq 0 ] || die "the next build did not remove the partial download: $(ls -A "$C/ingest")"
[ "$(leftovers "$D" '^\.kill\.run\.tmp-.{6}$')" -eq 1 ] && [ ! -e "$D/kill.run" ] ||
    die "build killed mid-output left no temp file: $(ls -A "$D")"
killed io.temp_written=kill build "$W" "$C" "$D/kill.run"
[ "$(leftovers "$D" '^\.kill\.run\.tmp-')" -eq 0 ] || die "the next build did not remove .kill.run.tmp-*"
[ "$(leftovers "$D" '^\.kill\.run\.sha256\.tmp-.{6}$')" -eq 1 ] || die "build killed writing the .sha256 left no temp file"
build "$W" "$C" "$D/kill.run" >/dev/null
[ "$(ls -A "$D" | tr '\n' ' ')" = "kill.run kill.run.sha256 " ] || die "leftovers beside the output: $(ls -A "$D")"
cmp "$D/kill.run" "$SCRATCH/ref/dist/kill.run" || die "the build after the kills differs from a clean build"
cmp "$D/kill.run.sha256" "$SCRATCH/ref/dist/kill.run.sha256" || die "its .sha256 differs from a clean build's"

# 3. Two builds share a cache: one paused mid-download keeps its ingest file while the other runs (and
#    cleans a dead writer's leftover), then finishes; both outputs equal the clean build.
C="$SCRATCH/cache-shared"
mkdir -p "$C/ingest"
echo "partial" >"$C/ingest/0123456789abcdef.dead01" # a killed writer's: nobody holds its lock
mkdir -p "$SCRATCH/a" "$SCRATCH/b"
PLATFORM_INSTALLER_FAILPOINT=fetch.blob_partial=sleep:10 build "$W" "$C" "$SCRATCH/a/kill.run" >"$SCRATCH/a.out" 2>&1 &
A=$!
_PIDS+=("$A")
paused=""
for _ in $(seq 100); do
    paused=$(ls -A "$C/ingest" | grep -v '^0123456789abcdef\.dead01$' || true)
    [ -n "$paused" ] && break
    sleep 0.1
done
[ -n "$paused" ] || die "the paused build has no ingest file"
[ ! -e "$C/ingest/0123456789abcdef.dead01" ] || die "the paused build did not clean the dead writer's file"
echo "partial" >"$C/ingest/0123456789abcdef.dead02"
build "$W" "$C" "$SCRATCH/b/kill.run" >/dev/null
kill -0 "$A" 2>/dev/null || die "the paused build ended before the second one finished: lengthen its sleep"
[ -e "$C/ingest/$paused" ] || die "the second build removed the ingest file of the build still running"
[ ! -e "$C/ingest/0123456789abcdef.dead02" ] || die "the second build did not clean the dead writer's file"
wait "$A" || { cat "$SCRATCH/a.out" >&2; die "the paused build failed after the other one ran"; }
cmp "$SCRATCH/a/kill.run" "$SCRATCH/ref/dist/kill.run" || die "the paused build's output differs from a clean build"
cmp "$SCRATCH/b/kill.run" "$SCRATCH/ref/dist/kill.run" || die "the second build's output differs from a clean build"
[ "$(leftovers "$C/ingest" .)" -eq 0 ] || die "files left in the shared cache's ingest/: $(ls -A "$C/ingest")"
echo "bundler_kill: killed builds and locks cleaned up after, concurrent writers left alone"
