#!/usr/bin/env bash
# The README's main job: scripts/demo builds the demo bundle from loopback fixtures and installs it
# into a target root; checked as an operator would (the files, their modes, the .sha256, a re-run).
source "$(dirname "$0")/lib.sh"
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
echo "demo: ok"
