#!/usr/bin/env bash
# One installer at a time per node: a second installer on the same root is refused while the first
# runs, naming the holder; once the first ends (even killed), the lock is free again.
source "$(dirname "$0")/lib.sh"

W="$SCRATCH/work"
demo_workdir "$W"
RUN="$SCRATCH/demo.run"
build_demo "$W" "$RUN"
root="$SCRATCH/root"
make_root "$root"
args=(--role master --root "$root" --yes --skip-check "$NODE_SKIPS")

PLATFORM_INSTALLER_FAILPOINT="phase.started.store=sleep:30" "$RUN" "${args[@]}" >"$SCRATCH/first.log" 2>&1 &
first=$!
_PIDS+=($first)
for _ in $(seq 100); do grep -q "store:" "$SCRATCH/first.log" 2>/dev/null && break; sleep 0.1; done
grep -q "store:" "$SCRATCH/first.log" || die "first installer did not reach the store phase"

expect_fail "a second installer on the same node" "$RUN" "${args[@]}"
expect_output "another installer \(pid $first\) is running on this node"
kill -9 "$first"; wait "$first" 2>/dev/null || true

"$RUN" "${args[@]}" >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "install after the holder died failed"; }
expect_output "installed role master"
[ -x "$root/usr/local/bin/busybox" ] || die "busybox not installed"
echo "node_lock: ok"
