#!/usr/bin/env bash
# --root confinement: a target root whose links point out of it, as a careless image's do
# (var/run -> /run absolute, usr/local/bin -> ../../../tmp/x with more ".." than it is deep, var/lib and
# var/log -> absolute folders). Installed with openat2 (RESOLVE_IN_ROOT) and with the checked walk the
# installer uses where the kernel lacks it: every file lands inside the root where the links lead when
# the root is "/", nothing is written outside it, and --reset takes the install back.
source "$(dirname "$0")/lib.sh"

W="$SCRATCH/work"
demo_workdir "$W"
TAG="pi-confine-$$-$RANDOM"
cat >>"$W/manifests/components/demo-tools.yaml" <<YAML
  - name: run-flag
    url: http://demo.invalid/tools/motd
    install: /var/run/$TAG/flag
YAML
RUN="$SCRATCH/demo.run"
build_demo "$W" "$RUN"

# hostile_root R: the links; nothing else but the os-release.
hostile_root() {
    make_root "$1"
    mkdir -p "$1/var" "$1/usr/local"
    ln -s /run "$1/var/run"
    ln -s ../../../tmp/x "$1/usr/local/bin"
    ln -s "/srv/$TAG" "$1/var/lib"
    ln -s "/logs-$TAG" "$1/var/log"
}
# outside: what exists outside the roots under $SCRATCH and where the links lead on the host.
outside() {
    find "$SCRATCH" -path "$SCRATCH/root-*" -prune -o -path "$SCRATCH/out" -prune -o -printf '%p\n' | sort
    ls -d "/run/$TAG" "/srv/$TAG" "/logs-$TAG" "$SCRATCH/tmp" 2>/dev/null || true
}
# node_tree R: the root as an operator sees it, without the installer's state and log (kept by --reset,
# with the folders the links led them to: srv/$TAG, logs-$TAG).
node_tree() {
    (cd "$1" && find . -path "./srv" -prune -o -path "./logs-$TAG" -prune -o \
        \( -type l -printf '%p link %l\n' -o -type d -printf '%p dir %m\n' -o -type f -printf '%p %m ' -exec sha256sum {} \; \) |
        awk '{print $1, $2, $3}' | sort)
}

for mode in automatic walk; do
    R="$SCRATCH/root-$mode"
    hostile_root "$R"
    before_outside=$(outside)
    before_node=$(node_tree "$R")
    "$RUN" --role master --root "$R" --yes --skip-check "$NODE_SKIPS" --resolve "$mode" >"$SCRATCH/out" 2>&1 ||
        { cat "$SCRATCH/out" >&2; die "$mode: install into the hostile root failed"; }
    expect_output "installed role master"
    # Where the links lead inside the root.
    cmp /bin/busybox "$R/tmp/x/busybox" || die "$mode: busybox is not at <root>/tmp/x/busybox (usr/local/bin -> ../../../tmp/x)"
    [ -f "$R/run/$TAG/flag" ] || die "$mode: the flag is not at <root>/run/$TAG (var/run -> /run)"
    [ -d "$R/srv/$TAG/platform-installer/store/blobs/sha256" ] || die "$mode: the store is not at <root>/srv/$TAG (var/lib -> /srv/$TAG)"
    [ -f "$R/logs-$TAG/platform-installer.log" ] || die "$mode: the log is not at <root>/logs-$TAG (var/log -> /logs-$TAG)"
    # Nothing outside.
    after_outside=$(outside)
    [ "$before_outside" = "$after_outside" ] ||
        die "$mode: written outside the root:"$'\n'"$(diff <(echo "$before_outside") <(echo "$after_outside") || true)"
    # A second run finds everything in place through the same links.
    "$RUN" --role master --root "$R" --yes --skip-check "$NODE_SKIPS" --resolve "$mode" >"$SCRATCH/out" 2>&1
    expect_output "nothing to do"
    # --reset takes it back: the links and the os-release stay, what the install made goes.
    "$RUN" --reset --root "$R" --yes --resolve "$mode" >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "$mode: --reset failed"; }
    expect_output "reset: undid [0-9]+ changes"
    after_node=$(node_tree "$R")
    [ "$before_node" = "$after_node" ] || die "$mode: --reset left the root changed:"$'\n'"$(diff <(echo "$before_node") <(echo "$after_node") || true)"
    [ "$before_outside" = "$(outside)" ] || die "$mode: --reset wrote outside the root"
done
echo "root_confinement: ok"
