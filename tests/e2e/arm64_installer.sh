#!/usr/bin/env bash
# arm64 nodes: the installer cross-built by scripts/setup with Debian's multiarch toolchain
# (build/bin/platform-installer-arm64) is a static aarch64 executable; `bundler build --arch arm64` embeds
# it (and refuses an installer of another architecture), carries the arm64 files only, and the .run runs
# under qemu-user-static: --check, a --dry-run that changes nothing, then a real install of the files.
source "$(dirname "$0")/lib.sh"
ARM="$BIN/platform-installer-arm64"
[ -x "$ARM" ] || skip "no arm64 installer (scripts/setup cross-builds it)"
command -v qemu-aarch64-static >/dev/null || skip "no qemu-aarch64-static (scripts/setup installs qemu-user-static)"
file "$ARM" | grep -q "ARM aarch64.*statically linked" || die "the arm64 installer is not a static aarch64 executable: $(file "$ARM")"
F="$SCRATCH/srv"
mkdir -p "$F"
printf 'arm64 tool\n' >"$F/tool-arm64"
printf 'amd64 tool\n' >"$F/tool-amd64"
start_http "$F"
W="$SCRATCH/work"
mkdir -p "$W/manifests/profiles" "$W/manifests/components"
cat >"$W/manifests/profiles/edge.yaml" <<'YAML'
name: edge
version: 0.1.0
platforms: [{os: debian, release: "12", arch: amd64}, {os: debian, release: "12", arch: arm64}]
components: [tool]
roles:
  master: {phases: [preflight, store, binaries], minima: {cpus: 1, memory_gb: 1, disk_gb: 1}}
YAML
cat >"$W/manifests/components/tool.yaml" <<'YAML'
name: tool
binaries:
  - {name: tool, url: "http://edge.invalid/tool-amd64", arch: amd64}
  - {name: tool-arm64, url: "http://edge.invalid/tool-arm64", install: /usr/local/bin/tool, arch: arm64}
YAML
M=(--mirror "edge.invalid=http://127.0.0.1:$HTTP_PORT")
"$BUNDLER" lock --profile edge --workdir "$W" --cache "$SCRATCH/cache" "${M[@]}" >/dev/null
RUN="$SCRATCH/edge-arm64.run"
expect_fail "an amd64 installer in an arm64 bundle" "$BUNDLER" build --profile edge --arch arm64 --workdir "$W" --cache "$SCRATCH/cache" \
    "${M[@]}" --installer "$INSTALLER" --output "$RUN"
expect_output "--installer .*platform-installer is for amd64 but profile edge is for arm64 nodes"
[ ! -e "$RUN" ] || die "a refused build left $RUN"
"$BUNDLER" build --profile edge --arch arm64 --workdir "$W" --cache "$SCRATCH/cache" "${M[@]}" --output "$RUN" >/dev/null
cmp -n "$(stat -c %s "$ARM")" "$ARM" "$RUN" || die "the .run does not start with the arm64 installer (the default for --arch arm64)"
"$BUNDLER" inspect "$RUN" >"$SCRATCH/out"
expect_output "platform: +debian 12 arm64"
! grep -q "amd64" "$SCRATCH/out" || die "the arm64 bundle names amd64"

qemu-aarch64-static "$RUN" --check >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "--check under qemu failed"; }
N="$SCRATCH/node"
make_root "$N"
tree_state "$N" >"$SCRATCH/before"
qemu-aarch64-static "$RUN" --role master --root "$N" --dry-run --yes --skip-check "$NODE_SKIPS" >"$SCRATCH/out" 2>&1 ||
    { cat "$SCRATCH/out" >&2; die "--dry-run under qemu failed"; }
expect_output "binaries"
tree_state "$N" | diff -u "$SCRATCH/before" - || die "--dry-run changed the node"
qemu-aarch64-static "$RUN" --role master --root "$N" --yes --skip-check "$NODE_SKIPS" >"$SCRATCH/out" 2>&1 ||
    { cat "$SCRATCH/out" >&2; die "install under qemu failed"; }
cmp "$F/tool-arm64" "$N/usr/local/bin/tool" || die "the arm64 node did not get the arm64 file"
echo "arm64_installer: ok"
