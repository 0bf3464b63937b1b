#!/usr/bin/env bash
# The README's main job: scripts/demo builds the demo bundle from loopback fixtures and images and
# installs it into a target root; checked as an operator would (the files, their modes, the .sha256, a
# re-run, the images served by the node's registry with their locked digests, --reset stopping it).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_node.sh" # stops the demo node's registry if the test fails half way
need_root # the README's demo installs as root (its preflight's root check is not skipped)

D="$SCRATCH/dist"
BIN="$BIN" DIST="$D" "$SRC/scripts/demo" >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "scripts/demo failed"; }
expect_output "installed role master of demo 0.1.0"
expect_output "nothing to do: role master of demo 0.1.0 is already installed"
[ -x "$D/platform-installer-demo.run" ] || die "no .run left in dist"
(cd "$D" && sha256sum -c platform-installer-demo.run.sha256 >/dev/null)
cmp /bin/busybox "$D/demo-root/usr/local/bin/busybox" || die "installed busybox differs from the fixture"
[ "$(stat -c %a "$D/demo-root/usr/local/bin/busybox")" = 755 ] || die "busybox mode is not 0755"
[ "$(stat -c %a "$D/demo-root/etc/platform-demo/motd")" = 644 ] || die "motd mode is not 0644"
"$D/demo-root/usr/local/bin/busybox" true || die "installed busybox does not run"
python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["checks"]; assert all(x["ok"] for x in c), c' \
    "$D/demo-root/var/lib/platform-installer/preflight.json"

# The demo ends with skopeo inspect through the node's registry: the digest images.lock pins.
port=$(sed -n 's|.*registry serves at$||; s|^http://127.0.0.1:\([0-9]*\)/v2/.*|\1|p' "$SCRATCH/out")
[ -n "$port" ] || die "the demo did not say where the node's registry serves"
for image in busybox hello; do
    want=$(sed -n "/ref: \"docker.io\/platform-demo\/$image:1\"/,/digest:/s/^ *digest: //p" "$D/demo-work/images.lock")
    got=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://127.0.0.1:$port/platform-demo/$image:1")
    [ -n "$want" ] && [ "$got" = "$want" ] || die "the node serves platform-demo/$image:1 as '$got', images.lock pins '$want'"
done
grep -q "^images.lock pins hello:1 as sha256:" "$SCRATCH/out" || die "the demo did not show the pinned digest"
[ "$(find "$D/demo-root/var/lib/platform-installer/registry" -name data -links 2 | wc -l)" -ge 5 ] ||
    die "the registry's blobs are not hard links to the store"

# What the demo's last line says to do stops the registry and undoes the install.
"$D/platform-installer-demo.run" --reset --root "$D/demo-root" --yes >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "--reset failed"; }
! curl -s -o /dev/null "http://127.0.0.1:$port/v2/" || die "the node's registry still answers after --reset"
[ ! -e "$D/demo-root/usr/local/bin/busybox" ] || die "--reset left busybox"
echo "demo: ok"
