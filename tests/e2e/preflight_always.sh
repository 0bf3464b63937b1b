#!/usr/bin/env bash
# Preflight is never skipped wholesale: `--skip preflight`, `--only` without it and `--from` past it
# still run its checks (and stop on a failing one); only `--skip-check ID` skips a check, one at a time.
source "$(dirname "$0")/lib.sh"

W="$SCRATCH/work"
demo_workdir "$W"
RUN="$SCRATCH/demo.run"
build_demo "$W" "$RUN"

# A node whose OS the demo profile does not list (Debian 10).
old_root() {
    mkdir -p "$1/etc"
    printf 'ID=debian\nVERSION_ID="10"\n' >"$1/etc/os-release"
}
for sel in "--skip preflight" "--only store,binaries" "--only binaries" "--from binaries"; do
    R="$SCRATCH/root-${sel//[ ,-]/_}"
    old_root "$R"
    # shellcheck disable=SC2086 # the selection is two words
    expect_fail "install with $sel on an unsupported OS" "$RUN" --role master --root "$R" --yes --skip-check "$NODE_SKIPS" $sel
    expect_output "note: preflight always runs \(it changes nothing\); skip one of its checks with --skip-check ID"
    expect_output "preflight failed \(1 of 7 checks\)"
    expect_output "os: debian 10 \(need one of: .*debian 12"
    [ ! -e "$R/usr/local/bin/busybox" ] || die "$sel: installed despite a failed preflight"
    python3 -c 'import json,sys; c={x["id"]: x for x in json.load(open(sys.argv[1]))["checks"]}; assert not c["os"]["ok"] and not c["os"]["skipped"], c["os"]' \
        "$R/var/lib/platform-installer/preflight.json"
done

# The check skipped by its id, with the phase deselected: preflight runs, records the skip, and passes.
R="$SCRATCH/root-skip-check"
old_root "$R"
"$RUN" --role master --root "$R" --yes --skip-check "$NODE_SKIPS,os" --skip preflight >"$SCRATCH/out" 2>&1 ||
    { cat "$SCRATCH/out" >&2; die "install with --skip-check os failed"; }
expect_output "os +skipped"
python3 -c 'import json,sys; c={x["id"]: x for x in json.load(open(sys.argv[1]))["checks"]}; assert c["os"]["skipped"], c["os"]' \
    "$R/var/lib/platform-installer/preflight.json"
cmp /bin/busybox "$R/usr/local/bin/busybox"
echo "preflight_always: ok"
