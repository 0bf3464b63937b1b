#!/usr/bin/env bash
# The README's main job: scripts/demo builds the demo bundle from loopback fixtures, images and Debian
# packages and installs it into a copy of a minimal Debian 12 root inside a network namespace with only
# loopback; checked as an operator would (the files, their modes, the .sha256, a re-run, the images
# served by the node's registry with their locked digests, jq and socat installed by the node's apt at
# their locked versions, --reset stopping the registry and purging the packages).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_node.sh" # stops the demo node's registry if the test fails half way
need_root # the README's demo installs as root (its preflight's root check is not skipped)

[ -s "$SRC/build/roots/bookworm-minbase.tar" ] || skip "no Debian 12 root (scripts/setup makes it as root)"
D="$SCRATCH/dist"
NETNS=pi-demo-$$
demo_netns_gone() { ip netns del "$NETNS" 2>/dev/null || true; }
_HOOKS+=(demo_netns_gone)
BIN="$BIN" DIST="$D" DEMO_NETNS="$NETNS" "$SRC/scripts/demo" >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "scripts/demo failed"; }
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
port=$(sed -n 's|.*registry serves at$||; s|^http://127.0.0.1:\([0-9]*\)/v2/ in network namespace '"$NETNS"'.*|\1|p' "$SCRATCH/out")
[ -n "$port" ] || die "the demo did not say where the node's registry serves"
! curl -s -o /dev/null "http://127.0.0.1:$port/v2/" || die "the node's registry answers outside its network namespace"
for image in busybox hello; do
    want=$(sed -n "/ref: \"docker.io\/platform-demo\/$image:1\"/,/digest:/s/^ *digest: //p" "$D/demo-work/images.lock")
    got=$(ip netns exec "$NETNS" skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://127.0.0.1:$port/platform-demo/$image:1")
    [ -n "$want" ] && [ "$got" = "$want" ] || die "the node serves platform-demo/$image:1 as '$got', images.lock pins '$want'"
done
grep -q "^images.lock pins hello:1 as sha256:" "$SCRATCH/out" || die "the demo did not show the pinned digest"
[ "$(find "$D/demo-root/var/lib/platform-installer/registry" -name data -links 2 | wc -l)" -ge 5 ] ||
    die "the registry's blobs are not hard links to the store"

# jq and socat: installed by the node's apt at the versions debs.lock pins, and the demo ended by running jq.
python3 - "$D/demo-work/debs.lock" >"$SCRATCH/want" <<'PY'
import sys, yaml
for p in yaml.safe_load(open(sys.argv[1]))["targets"][0]["packages"]: print(p["name"], p["version"])
PY
grep -q '^jq ' "$SCRATCH/want" && grep -q '^socat ' "$SCRATCH/want" || die "debs.lock does not pin jq and socat"
while read -r name version; do
    [ "$(chroot "$D/demo-root" dpkg-query -W -f '${Version} ${db:Status-Abbrev}' "$name")" = "$version ii " ] || die "$name is not installed at $version"
done <"$SCRATCH/want"
sed -n '/^==> jq, installed on the node/,$p' "$SCRATCH/out" | grep -qFx '{"installed_offline":["jq","socat"],"by":"the node'"'"'s own apt"}' ||
    { tail -n 6 "$SCRATCH/out" >&2; die "the demo did not end by running the installed jq"; }

# What the demo's last line says to do stops the registry, purges the packages and undoes the install.
cmd=$(tail -n 1 "$SCRATCH/out")
[ "$cmd" = "  $D/platform-installer-demo.run --reset --root $D/demo-root --yes && ip netns del $NETNS" ] || die "unexpected last line: $cmd"
eval "$cmd" >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "the demo's undo command failed"; }
! ip netns exec "$NETNS" true 2>/dev/null || die "the network namespace is still there"
[ ! -e "$D/demo-root/usr/local/bin/busybox" ] || die "--reset left busybox"
! chroot "$D/demo-root" dpkg-query -W -f '${db:Status-Abbrev}' jq 2>/dev/null | grep -q '^ii' || die "--reset left jq installed"
echo "demo: ok"
