#!/usr/bin/env bash
# --reset undoes what installs changed, last change first, from the change log the system seam writes
# before each change: a file that was there comes back with its content and mode, what the install made
# goes, and this holds after a kill at any point of the install and after a kill during the reset itself.
source "$(dirname "$0")/lib.sh"

W="$SCRATCH/work"
demo_workdir "$W"
RUN="$SCRATCH/demo.run"
build_demo "$W" "$RUN"

# operator_root R: a node (with the /var/lib and /var/log every node has) that already has an older
# busybox (0700) at the path the demo installs.
operator_root() {
    make_root "$1"
    mkdir -p "$1/usr/local/bin" "$1/etc" "$1/var/lib" "$1/var/log"
    printf '#!/bin/sh\necho an older busybox\n' >"$1/usr/local/bin/busybox"
    chmod 0700 "$1/usr/local/bin/busybox"
    echo "operator" >"$1/etc/hostname"
}
# node_tree R: every path with its type, mode and content digest, without the installer's state and log.
node_tree() {
    (cd "$1" && find . -path ./var/lib/platform-installer -prune -o -path ./var/log/platform-installer.log -prune -o \
        \( -type l -printf '%p link %l\n' -o -type d -printf '%p dir %m\n' -o -type f -printf '%p %m ' -exec sha256sum {} \; \) |
        awk '{print $1, $2, $3}' | sort)
}
install() { "$RUN" --role master --root "$1" --yes --skip-check "$NODE_SKIPS"; }
reset() { "$RUN" --reset --root "$1" --yes; }
same_tree() { # same_tree WHAT BEFORE ROOT
    local after
    after=$(node_tree "$3")
    [ "$2" = "$after" ] || die "$1: the root differs from before the install:"$'\n'"$(diff <(echo "$2") <(echo "$after") || true)"
}

# 1. Install over the operator's file, then reset.
R="$SCRATCH/root"
operator_root "$R"
before=$(node_tree "$R")
install "$R" >/dev/null
cmp /bin/busybox "$R/usr/local/bin/busybox" || die "the install did not replace busybox"
[ "$(ls "$R/var/lib/platform-installer/backups" | wc -l)" -eq 1 ] || die "want one backup (the older busybox)"
reset "$R" >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "--reset failed"; }
expect_output "reset: undid [0-9]+ changes"
same_tree "reset" "$before" "$R"
[ "$(stat -c %a "$R/usr/local/bin/busybox")" = 700 ] || die "the older busybox did not get its mode back"
grep -q '"event":"undone"' "$R/var/lib/platform-installer/journal.jsonl" || die "the journal does not record the reset"
reset "$R" >"$SCRATCH/out" 2>&1
expect_output "nothing to reset: every recorded change under .* is already undone"
# Installed again after a reset: the same files (the store is kept, so no blob is written twice).
install "$R" >"$SCRATCH/out" 2>&1
expect_output "installed role master"
expect_output "store: already done"
cmp /bin/busybox "$R/usr/local/bin/busybox"
reset "$R" >/dev/null
same_tree "second reset" "$before" "$R"

# 2. Killed at each point of the install, then reset: the same tree as before the install.
for fp in "phase.started.binaries" "system.temp_written@1" "system.temp_written@2" "binaries.file_installed@1" "binaries.file_installed@2"; do
    R="$SCRATCH/root-${fp//[@.]/-}"
    operator_root "$R"
    before=$(node_tree "$R")
    rc=0
    PLATFORM_INSTALLER_FAILPOINT="$fp=kill" install "$R" >"$SCRATCH/out" 2>&1 || rc=$?
    [ "$rc" -eq 137 ] || { cat "$SCRATCH/out" >&2; die "$fp: want exit 137 (SIGKILL), got $rc"; }
    reset "$R" >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "$fp: --reset after the kill failed"; }
    same_tree "kill at $fp, then reset" "$before" "$R"
done

# 3. Killed during the reset itself, then reset again: it finishes.
R="$SCRATCH/root-killed-reset"
operator_root "$R"
before=$(node_tree "$R")
install "$R" >/dev/null
rc=0
PLATFORM_INSTALLER_FAILPOINT="system.undone@2=kill" reset "$R" >"$SCRATCH/out" 2>&1 || rc=$?
[ "$rc" -eq 137 ] || { cat "$SCRATCH/out" >&2; die "want the reset killed (137), got $rc"; }
reset "$R" >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "--reset after a killed reset failed"; }
same_tree "killed reset, then reset" "$before" "$R"

# 4. Nothing recorded: nothing to do, nothing created.
mkdir "$SCRATCH/empty"
reset "$SCRATCH/empty" >"$SCRATCH/out" 2>&1
expect_output "nothing to reset: the installer has recorded no change"
[ -z "$(ls -A "$SCRATCH/empty")" ] || die "--reset of a fresh root created files"
echo "reset_undo: ok"
