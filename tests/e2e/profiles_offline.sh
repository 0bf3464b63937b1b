#!/usr/bin/env bash
# The shipped profiles offline, through the bundler's command line, on a copy of the repository's
# manifests and locks (nothing is reachable: every command here must work without a network):
#   - bundler plan prints each architecture's artifacts per component and each role's phases;
#   - bundler lock --check says the locks lack the profile's pins and names them;
#   - bundler build refuses before anything is fetched, naming every missing pin at once, grouped by
#     component, and leaves no output file;
#   - a profile with files per architecture needs --arch, and --arch arm64 names the arm64 files.
source "$(dirname "$0")/lib.sh"
W="$SCRATCH/work"
mkdir -p "$W"
cp -r "$SRC/manifests" "$SRC/binaries.lock" "$SRC/debs.lock" "$SRC/images.lock" "$W/"
for p in cpu-single gpu-single gpu-ha; do
    "$BUNDLER" plan --profile "$p" --workdir "$W" >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "plan $p failed"; }
    expect_output "^== amd64 "
    expect_output "^== arm64 "
    expect_output "^component k3s "
    expect_output "^  file  k3s +/usr/local/bin/k3s +UNPINNED"
    expect_output "^  file  registry +/usr/local/bin/registry \(from registry\)"
    expect_output "^  image ghcr.io/kubeflow/katib/katib-controller:v0.18.0 +UNPINNED"
    expect_output "^role master: preflight -> store -> binaries -> apt -> registry -> images"
    expect_fail "lock --check of $p" "$BUNDLER" lock --check --profile "$p" --workdir "$W"
    expect_output "https://github.com/k3s-io/k3s/releases/download/v1.32.3%2Bk3s1/k3s is not pinned"
    expect_fail "build of $p before its lock" "$BUNDLER" build --profile "$p" --arch amd64 --workdir "$W" --cache "$SCRATCH/cache" \
        --installer "$INSTALLER" --output "$SCRATCH/$p.run"
    for c in k3s registry helm kubeflow; do expect_output "^  component $c \(.*components/$c.yaml\):$"; done
    expect_output "pins are missing for profile $p \(amd64\); run .bundler lock --profile $p."
    expect_output "k3s-airgap-images-amd64: .* is not pinned in binaries.lock"
    ! grep -q "k3s-arm64" "$SCRATCH/out" || die "$p amd64: an arm64 file was asked for"
    [ ! -e "$SCRATCH/$p.run" ] || die "a refused build of $p left an output file"
    [ ! -e "$SCRATCH/cache" ] || [ -z "$(ls -A "$SCRATCH/cache/blobs/sha256" 2>/dev/null)" ] || die "a refused build fetched something"
done
grep -q "nvidia-device-plugin" <("$BUNDLER" plan --profile gpu-ha --workdir "$W" --arch arm64) || die "gpu-ha's plan lacks the device plugin"
expect_fail "a build of every architecture at once" "$BUNDLER" build --profile gpu-ha --workdir "$W" --cache "$SCRATCH/cache" \
    --installer "$INSTALLER" --output "$SCRATCH/x.run"
expect_output "build one .run per architecture \(--arch amd64\)"
# (the default installer for --arch arm64 is the cross-built one beside the bundler, scripts/setup's)
[ -x "$BIN/platform-installer-arm64" ] || skip "no arm64 installer (scripts/setup cross-builds it)"
expect_fail "an arm64 build before its lock" "$BUNDLER" build --profile gpu-ha --arch arm64 --workdir "$W" --cache "$SCRATCH/cache" \
    --output "$SCRATCH/x.run"
expect_output "k3s-arm64: https://github.com/k3s-io/k3s/releases/download/v1.32.3%2Bk3s1/k3s-arm64 is not pinned"
expect_fail "an architecture the profile lacks" "$BUNDLER" build --profile gpu-ha --arch riscv64 --workdir "$W" --cache "$SCRATCH/cache" \
    --installer "$INSTALLER" --output "$SCRATCH/x.run"
expect_output "profile gpu-ha has no platform for riscv64 \(it has: amd64, arm64\)"
echo "profiles_offline: ok"
