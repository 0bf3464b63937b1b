#!/usr/bin/env bash
# --status reads a node without writing to it: the bundle the journal recorded (its digest as --info
# prints it), the role, each phase's status with when it finished and how long it took, the files and
# services the installer put there (the service up), the store's size, and an install running now or
# interrupted; as text and as JSON; the root's every path, mode, size and mtime are the same after it.
# --reset --purge then leaves the root as it was before the first install (paths, types, modes, owners,
# contents), --reset alone keeps the store and the log, and --purge without --reset is a usage error.
# The bundle is images_node's (lib_images.sh): its registry phase starts a real service (Debian's CNCF
# Distribution, chrooted, a plain process with a pid file) and its import phase a real containerd's.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_images.sh"
source "$(dirname "$0")/lib_node.sh"
need_root # chrooted services and containerd
command -v jq >/dev/null || skip "needs jq"

# file_tree R: what --status must not change: every path with its mode, size and mtime.
file_tree() { (cd "$1" && find . -printf '%p %m %s %T@\n' | sort); }
# node_tree R: what --reset --purge must bring back: every path with its type, mode, owner and its
# content's digest (files) or target (links).
node_tree() {
    (cd "$1" && find . \( -type f -printf '%p file %m %U:%G ' -exec sha256sum {} \; \) -o \
        \( -type l -printf '%p link %m %U:%G %l\n' \) -o -printf '%p %y %m %U:%G\n' | awk '{print $1, $2, $3, $4, $5}' | sort)
}
same() { # same WHAT BEFORE AFTER
    [ "$2" = "$3" ] || die "$1:"$'\n'"$(diff <(echo "$2") <(echo "$3") || true)"
}
status() { "$RUN" --status --root "$@"; }
install() { "$RUN" --role master --root "$1" --yes --skip-check "$NODE_SKIPS" --registry-listen "127.0.0.1:$2"; }
# jq_true WHAT FILE FILTER: the filter holds for the JSON in FILE.
jq_true() {
    [ "$(jq -r "$3" "$2")" = true ] || { cat "$2" >&2; die "$1 (jq: $3)"; }
}

# 1. Usage: --purge goes with --reset, --json with --status, --status alone.
E="$SCRATCH/empty"
mkdir -p "$E"
for args in "--purge" "--purge --yes" "--json" "--status --reset" "--status --role master"; do
    rc=0
    # shellcheck disable=SC2086
    "$INSTALLER" $args --root "$E" >"$SCRATCH/out" 2>&1 || rc=$?
    [ "$rc" -eq 2 ] || { cat "$SCRATCH/out" >&2; die "'$args' must be a usage error (exit 2), got $rc"; }
done
"$INSTALLER" --purge --root "$E" >"$SCRATCH/out" 2>&1 || true
expect_output "error: --purge goes with --reset"

# 2. Nothing installed: said, exit 0, nothing made.
"$INSTALLER" --status --root "$E" >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "--status of an empty root failed"; }
expect_output "^not installed under $E$"
"$INSTALLER" --status --json --root "$E" >"$SCRATCH/empty.json"
jq_true "an empty root's JSON status" "$SCRATCH/empty.json" '.state == "not installed" and .bundle == null and .phases == []'
[ -z "$(ls -A "$E")" ] || die "--status of an empty root created files"

# 3. Install into a node root (with the /var/lib and /var/log every node has).
images_node_bundle
DIGEST=$("$RUN" --info | sed -n 's/^index: *bundle.json [0-9]* bytes, \(sha256:[0-9a-f]*\)$/\1/p')
[[ "$DIGEST" =~ ^sha256:[0-9a-f]{64}$ ]] || die "--info printed no bundle.json digest"
R="$SCRATCH/node"
service_root "$R"
mkdir -p "$R/var/lib" "$R/var/log"
start_containerd "$R"
before=$(node_tree "$R")
PORT=$(free_port)
t_start=$(date +%s)
install "$R" "$PORT" >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "install failed"; }
t_end=$(date +%s)

# 4. --status as text.
tree0=$(file_tree "$R")
status "$R" >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "--status failed"; }
cp "$SCRATCH/out" "$SCRATCH/status.txt"
expect_output "^state: +installed$"
expect_output "^bundle: +images-node 0\.1\.0, bundle\.json $DIGEST$"
expect_output "^role: +master$"
for p in preflight store binaries registry images import; do
    expect_output "^  $p +done +[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} UTC"
done
expect_output "^  store +done +.*, took [0-9]+ s$"
for p in apt ha k3s; do expect_output "^  $p +- +not in this role's plan$"; done
expect_output "^  file +registry +/usr/local/bin/registry +installed \(sha256:[0-9a-f]{64}\)$"
expect_output "^  k3s +not installed$"
expect_output "^  platform-registry +up +\(started by phase registry\)$"
blobs=$(find "$R/var/lib/platform-installer/store/blobs/sha256" -type f | wc -l)
bytes=$(find "$R/var/lib/platform-installer/store/blobs/sha256" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
[ "$blobs" -gt 0 ] || die "the store holds no blobs"
expect_output "^store: +$blobs blobs, .* \($bytes bytes\) in /var/lib/platform-installer/store$"

# 5. --status --json: the same.
status "$R" --json >"$SCRATCH/status.json"
J="$SCRATCH/status.json"
jq_true "state, role, bundle" "$J" ".state == \"installed\" and .role == \"master\" and .running == false and .interrupted == false
    and .interrupted_phase == null and .bundle == {profile: \"images-node\", version: \"0.1.0\", bundle_json_sha256: \"$DIGEST\"}"
jq_true "the phase table, in order" "$J" '[.phases[].name] == ["preflight","store","binaries","apt","registry","images","ha","k3s","import","addons"]'
jq_true "every planned phase done, with its times" "$J" "[.phases[] | select(.in_plan)] | length == 6 and all(.status == \"done\"
    and (.finished | type) == \"number\" and .finished >= $t_start and .finished <= $t_end)"
jq_true "durations are finish minus start" "$J" '[.phases[] | select(.seconds != null)] | length >= 5 and
    all(.seconds == .finished - .started and .seconds >= 0)'
jq_true "phases not in the plan never ran" "$J" '[.phases[] | select(.in_plan | not)] | map(.name) == ["apt","ha","k3s","addons"] and
    all(.status == "none" and .finished == null and .seconds == null)'
jq_true "the registry service, up" "$J" '.services == [{name: "platform-registry", phase: "registry", active: true}]'
jq_true "the files" "$J" '.files == [.files[] | select(.state == "installed")] and any(.files[]; .path == "/usr/local/bin/registry")'
jq_true "k3s and packages" "$J" '.k3s == {path: "/usr/local/bin/k3s", installed: false} and .packages == []'
jq_true "the store's size" "$J" ".store == {path: \"/var/lib/platform-installer/store\", blobs: $blobs, bytes: $bytes}"
# The bare installer (no bundle in it) names the bundle from the node's copy of its index.
"$INSTALLER" --status --json --root "$R" >"$SCRATCH/bare.json"
jq_true "the bare installer's status" "$SCRATCH/bare.json" ".bundle.profile == \"images-node\" and .bundle.bundle_json_sha256 == \"$DIGEST\""
same "--status changed the root" "$tree0" "$(file_tree "$R")"

# 6. An install stopped in its registry phase: "running" while it holds the lock, "interrupted" once
#    killed; --status changes nothing either way. Then --reset keeps the store and the log.
R2="$SCRATCH/node-stopped"
service_root "$R2"
mkdir -p "$R2/var/lib" "$R2/var/log"
before2=$(node_tree "$R2")
PORT2=$(free_port)
# "$RUN" itself in the background (not the install function), so $! is the installer's pid.
PLATFORM_INSTALLER_FAILPOINT="phase.started.registry=stop" "$RUN" --role master --root "$R2" --yes --skip-check "$NODE_SKIPS" \
    --registry-listen "127.0.0.1:$PORT2" >"$SCRATCH/stopped.out" 2>&1 &
STOPPED=$!
_kill_stopped() { kill -9 "$STOPPED" 2>/dev/null || true; }
_HOOKS+=(_kill_stopped)
for _ in $(seq 300); do [ "$(awk '{print $3}' "/proc/$STOPPED/stat" 2>/dev/null)" = T ] && break; sleep 0.1; done
[ "$(awk '{print $3}' "/proc/$STOPPED/stat")" = T ] || { cat "$SCRATCH/stopped.out" >&2; die "the install did not stop at the registry phase"; }
tree0=$(file_tree "$R2")
status "$R2" --json >"$SCRATCH/running.json"
jq_true "an install running" "$SCRATCH/running.json" '.state == "running" and .running == true and .interrupted == false and
    (.phases[] | select(.name == "registry") | .status == "running" and (.started | type) == "number" and .finished == null)'
same "--status changed the root of a running install" "$tree0" "$(file_tree "$R2")"
kill -9 "$STOPPED"
wait "$STOPPED" 2>/dev/null || true
tree0=$(file_tree "$R2")
status "$R2" >"$SCRATCH/out" 2>&1
expect_output "^state: +interrupted: the last run stopped during phase registry; run the same command again to resume$"
expect_output "^  registry +interrupted +started "
status "$R2" --json >"$SCRATCH/interrupted.json"
jq_true "an interrupted install" "$SCRATCH/interrupted.json" '.state == "interrupted" and .running == false and .interrupted == true
    and .interrupted_phase == "registry"'
same "--status changed the root of an interrupted install" "$tree0" "$(file_tree "$R2")"
"$RUN" --reset --root "$R2" --yes >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "--reset failed"; }
expect_output "the store and the log are kept"
[ -d "$R2/var/lib/platform-installer/store/blobs" ] && [ -f "$R2/var/log/platform-installer.log" ] || die "--reset without --purge removed the store or the log"
jq_true "the files are gone after --reset" <(status "$R2" --json) '.files | all(.state == "missing")'
"$RUN" --reset --purge --root "$R2" --yes >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "--reset --purge after a reset failed"; }
expect_output "nothing to reset: every recorded change under .* is already undone"
expect_output "^purge: removed .*/var/lib/platform-installer, .*/var/log/platform-installer.log$"
same "--reset --purge of an interrupted install: the root differs from before the install" "$before2" "$(node_tree "$R2")"

# 7. --reset --purge of the installed node: the registry stops, and the root is as before the install.
"$RUN" --reset --purge --root "$R" --yes >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "--reset --purge failed"; }
expect_output "reset: undid [0-9]+ changes$"
expect_output "^purge: removed "
! curl -s -o /dev/null "http://127.0.0.1:$PORT/v2/" || die "the registry still answers after --reset --purge"
same "--reset --purge: the root differs from before the install" "$before" "$(node_tree "$R")"
status "$R" >"$SCRATCH/out" 2>&1
expect_output "^not installed under $R$"
same "--status of a purged root changed it" "$before" "$(node_tree "$R")"
"$RUN" --reset --purge --root "$R" --yes >"$SCRATCH/out" 2>&1
expect_output "nothing to purge: no installer state under $R"
echo "status_purge: ok"
