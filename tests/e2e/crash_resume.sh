#!/usr/bin/env bash
# The installer killed with SIGKILL during extraction and during a phase, then re-run, ends in the same
# state as an uninterrupted run; a second run of a finished install changes nothing and says so.
# SIGKILL is real: the failpoint PLATFORM_INSTALLER_FAILPOINT makes the installer kill itself at an
# exact point (after the Nth blob committed, after the Nth file installed, at a phase's start).
source "$(dirname "$0")/lib.sh"

W="$SCRATCH/work"
demo_workdir "$W"
# More blobs, so a kill lands between blobs: add files to the demo component.
for i in 1 2 3 4 5; do
    head -c $((200000 * i)) /dev/urandom >"$FIXTURES/tools/data$i"
    cat >>"$W/manifests/components/demo-tools.yaml" <<YAML
  - name: data$i
    url: http://demo.invalid/tools/data$i
    install: /opt/demo/data$i
YAML
done
"$BUNDLER" lock --profile demo --workdir "$W" --cache "$SCRATCH/cache" --mirror "$MIRROR" >/dev/null
RUN="$SCRATCH/demo.run"
build_demo "$W" "$RUN"
install() { [ -d "$1" ] || make_root "$1"; "$RUN" --role master --root "$1" --yes --skip-check "$NODE_SKIPS"; }

# Reference: an uninterrupted install.
install "$SCRATCH/ref" >/dev/null
tree_state "$SCRATCH/ref" >"$SCRATCH/ref.state"
[ "$(grep -c blobs/sha256 "$SCRATCH/ref.state")" -eq 7 ] || die "reference install has the wrong blob count"

crash_then_resume() { # NAME FAILPOINT
    local root="$SCRATCH/root-$1" rc=0
    PLATFORM_INSTALLER_FAILPOINT=$2 install "$root" >"$SCRATCH/out" 2>&1 || rc=$?
    [ "$rc" -eq 137 ] || { cat "$SCRATCH/out" >&2; die "$1: want exit 137 (SIGKILL), got $rc"; }
    tree_state "$root" >"$SCRATCH/$1.crashed"
    ! cmp -s "$SCRATCH/$1.crashed" "$SCRATCH/ref.state" || die "$1: the kill came too late to test anything"
    install "$root" >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "$1: re-run failed"; }
    expect_output "resuming: the previous run stopped during phase"
    tree_state "$root" >"$SCRATCH/$1.state"
    diff -u "$SCRATCH/ref.state" "$SCRATCH/$1.state" || die "$1: state after resume differs from an uninterrupted run"
    [ -z "$(ls -A "$root/var/lib/platform-installer/store/ingest")" ] || die "$1: partial files left in ingest/"
}
crash_then_resume during-extraction "store.blob_committed@3=kill"
crash_then_resume first-blob "store.blob_committed@1=kill"
crash_then_resume during-binaries "binaries.file_installed@2=kill"
crash_then_resume binaries-start "phase.started.binaries=kill"
crash_then_resume mid-copy "system.temp_written@3=kill" # a partial copy beside its target

# A half-written blob in ingest/ (killed mid-write) is cleaned and does not count as present.
root="$SCRATCH/root-partial"
install "$root" >/dev/null
blob=$(ls "$root/var/lib/platform-installer/store/blobs/sha256" | head -n1)
head -c 100 "$root/var/lib/platform-installer/store/blobs/sha256/$blob" >"$root/var/lib/platform-installer/store/ingest/$blob.partial"
rm -f "$root/var/lib/platform-installer/store/blobs/sha256/$blob"
install "$root" >/dev/null
tree_state "$root" >"$SCRATCH/partial.state"
diff -u "$SCRATCH/ref.state" "$SCRATCH/partial.state" || die "partial ingest: state differs"

# A second run of a finished install changes nothing and says so.
before=$(cd "$SCRATCH/ref" && find . -type f ! -name platform-installer.log ! -name install.lock -printf '%p %T@ %s\n' | sort)
install "$SCRATCH/ref" >"$SCRATCH/out" 2>&1
expect_output "nothing to do: role master of demo 0.1.0 is already installed"
after=$(cd "$SCRATCH/ref" && find . -type f ! -name platform-installer.log ! -name install.lock -printf '%p %T@ %s\n' | sort)
[ "$before" = "$after" ] || die "a second run changed files: $(diff <(echo "$before") <(echo "$after"))"

# A changed installed file is noticed and repaired on re-run (the phase checks, not the journal).
echo tampered >"$SCRATCH/ref/opt/demo/data1"
install "$SCRATCH/ref" >"$SCRATCH/out" 2>&1
expect_output "installed /opt/demo/data1"
tree_state "$SCRATCH/ref" >"$SCRATCH/repaired.state"
diff -u "$SCRATCH/ref.state" "$SCRATCH/repaired.state" || die "tampered file was not repaired"
# A store blob damaged in place (same size) is caught when it is consumed, dropped, and restored from the
# bundle by the next run.
root="$SCRATCH/root-damaged"
install "$root" >/dev/null
data1=$(sha256sum "$FIXTURES/tools/data1" | cut -d' ' -f1)
blob="$root/var/lib/platform-installer/store/blobs/sha256/$data1"
chmod u+w "$blob"
printf 'X' | dd of="$blob" bs=1 seek=1000 conv=notrunc status=none
rm "$root/opt/demo/data1"
expect_fail "install from a damaged store blob" install "$root"
expect_output "stored blob .*$data1: sha256 mismatch.*run the installer again"
[ ! -e "$blob" ] || die "the damaged blob was left in the store"
install "$root" >/dev/null
tree_state "$root" >"$SCRATCH/damaged.state"
diff -u "$SCRATCH/ref.state" "$SCRATCH/damaged.state" || die "a damaged store blob was not restored"
echo "crash_resume: ok"
