#!/usr/bin/env bash
# A file taken out of a downloaded archive (as helm and the registry ship: a .tar.gz holding the binary),
# for one architecture: lock pins the archive (its published sha256 checked), build carries only the
# member (bundle.json names it and its digest), the node gets the member's bytes; a file for another
# architecture is pinned but not carried; a member the archive lacks is refused naming what it holds.
source "$(dirname "$0")/lib.sh"
F="$SCRATCH/srv"
mkdir -p "$F/pkg/linux-amd64" "$F/pkg/linux-arm64"
printf '#!/bin/sh\necho helm-amd64\n' >"$F/pkg/linux-amd64/helm"
printf '#!/bin/sh\necho helm-arm64\n' >"$F/pkg/linux-arm64/helm"
echo "license text" >"$F/pkg/linux-amd64/LICENSE"
tar -C "$F/pkg" -czf "$F/helm-amd64.tar.gz" linux-amd64
tar -C "$F/pkg" -czf "$F/helm-arm64.tar.gz" linux-arm64
start_http "$F"
W="$SCRATCH/work"
mkdir -p "$W/manifests/profiles" "$W/manifests/components"
cat >"$W/manifests/profiles/tools.yaml" <<'YAML'
name: tools
version: 0.1.0
platforms: [{os: debian, release: "12", arch: amd64}]
components: [helm]
roles:
  master: {phases: [preflight, store, binaries], minima: {cpus: 1, memory_gb: 1, disk_gb: 1}}
YAML
component() { # component MEMBER
    cat >"$W/manifests/components/helm.yaml" <<YAML
name: helm
binaries:
  - name: helm
    url: http://get.invalid/helm-amd64.tar.gz
    extract: $1
    arch: amd64
    sha256: "$(sha256sum "$F/helm-amd64.tar.gz" | cut -d' ' -f1)"
    sha256_source: "this test's own tarball"
  - {name: helm-arm64, url: http://get.invalid/helm-arm64.tar.gz, extract: linux-arm64/helm, install: /usr/local/bin/helm, arch: arm64}
YAML
}
M=(--mirror "get.invalid=http://127.0.0.1:$HTTP_PORT")
RUN="$SCRATCH/tools.run"
component linux-amd64/helm
"$BUNDLER" lock --profile tools --workdir "$W" --cache "$SCRATCH/cache" "${M[@]}" >/dev/null
grep -q helm-arm64.tar.gz "$W/binaries.lock" || die "the arm64 archive is not pinned (lock pins every architecture)"
"$BUNDLER" build --profile tools --workdir "$W" --cache "$SCRATCH/cache" "${M[@]}" --installer "$INSTALLER" --output "$RUN" >/dev/null
"$BUNDLER" inspect --json "$RUN" >"$SCRATCH/inspect.json"
member=$(sha256sum "$F/pkg/linux-amd64/helm" | cut -d' ' -f1)
python3 - "$SCRATCH/inspect.json" "$member" <<'PY' || die "bundle.json does not carry the member"
import json, sys
j = json.load(open(sys.argv[1]))
idx = j.get("bundle", j)
files = idx["files"]
assert [f["name"] for f in files] == ["helm"], files
f = files[0]
assert f["extract"] == "linux-amd64/helm" and f["digest"] == "sha256:" + sys.argv[2], f
blobs = [b["digest"] for b in idx["blobs"]]
assert blobs == ["sha256:" + sys.argv[2]], blobs   # the member alone: not the archive, not arm64's
PY
make_root "$SCRATCH/node"
"$RUN" --role master --root "$SCRATCH/node" --yes --skip-check "$NODE_SKIPS" >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "install failed"; }
cmp "$F/pkg/linux-amd64/helm" "$SCRATCH/node/usr/local/bin/helm" || die "the node did not get the member's bytes"
[ "$(stat -c %a "$SCRATCH/node/usr/local/bin/helm")" = 755 ] || die "the member is not 0755"
# A member the archive does not hold: refused, naming the URL, the member and what the archive holds.
component linux-amd64/helmx
expect_fail "a member the archive lacks" "$BUNDLER" build --profile tools --workdir "$W" --cache "$SCRATCH/cache" "${M[@]}" \
    --installer "$INSTALLER" --output "$SCRATCH/bad.run"
expect_output "http://get.invalid/helm-amd64.tar.gz holds no linux-amd64/helmx \(it holds: .*linux-amd64/helm"
[ ! -e "$SCRATCH/bad.run" ] || die "a refused build left an output file"
echo "archive_member: ok"
