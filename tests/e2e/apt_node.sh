#!/usr/bin/env bash
# Packages installed on a node by its own apt, offline: the fixture .debs (jq, socat and their closure
# beyond the base set) are locked and bundled from loopback, then the installer's apt phase runs in a
# copy of a `debootstrap --variant=minbase bookworm` root (scripts/make-debian-root) with the network cut
# (unshare -n): the node's repository is signed with a key the installer made on the node, apt checks it
# (signed-by, never trusted=yes), dpkg shows the locked versions, the root's own source files (one
# pointing at a host nobody can reach) are byte-identical afterwards, and a re-run calls no apt.
source "$(dirname "$0")/lib.sh"
need_root # chroot, unshare -n
TAR=$("$SRC/scripts/make-debian-root" bookworm 2>/dev/null) || skip "no debootstrap root (scripts/setup makes it: scripts/make-debian-root bookworm)"
APT_PHASES="preflight, store, apt"
source "$(dirname "$0")/lib_apt.sh"
lock >/dev/null
RUN="$SCRATCH/debs.run"
build --output "$RUN" >/dev/null

# The node: the debootstrap root, with an operator's sources: the Debian default, a *.list, and a deb822
# *.sources pointing at a host that cannot be reached.
N="$SCRATCH/node"
mkdir -p "$N"
tar -C "$N" -xf "$SRC/$TAR"
echo "deb http://deb.debian.org/debian bookworm main" >"$N/etc/apt/sources.list"
echo "deb http://mirror.example.invalid/debian bookworm main" >"$N/etc/apt/sources.list.d/corp.list"
printf 'Types: deb\nURIs: http://10.255.255.1/debian\nSuites: bookworm\nComponents: main\n' >"$N/etc/apt/sources.list.d/unreachable.sources"
(cd "$N/etc/apt" && sha256sum sources.list sources.list.d/*) >"$SCRATCH/sources.before"
install() { unshare -n "$RUN" --role master --root "$N" --yes --skip-check "$NODE_SKIPS" "$@"; }
install >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "install with the apt phase failed"; }
expect_output "made this node's repository key"

# 1. dpkg has every package of the closure at its locked version.
python3 - "$W/debs.lock" >"$SCRATCH/want" <<'PY'
import sys, yaml
t = {x["name"]: x for x in yaml.safe_load(open(sys.argv[1]))["targets"]}["debian-12"]
for p in t["packages"]: print(p["name"], p["version"])
PY
while read -r name version; do
    got=$(chroot "$N" dpkg-query -W -f '${Version} ${db:Status-Abbrev}' "$name" 2>/dev/null || true)
    [ "$got" = "$version ii " ] || die "$name: dpkg has '$got', want '$version ii '"
done <"$SCRATCH/want"
chroot "$N" jq --version >/dev/null || die "the installed jq does not run"

# 2. apt verified the repository with the node's key: InRelease checks with gpgv against the keyring the
#    sources entry names; the entry says signed-by, never trusted.
grep -qx "Signed-By: /etc/apt/keyrings/platform-installer.gpg" "$N/etc/apt/sources.list.d/platform-installer.sources" || die "no signed-by in the sources entry"
! grep -rqi 'trusted=yes\|allow-insecure' "$N/etc/apt" "$N/var/lib/platform-installer/apt/sources.list.d" || die "trusted=yes or allow-insecure found"
gpgv --keyring "$N/etc/apt/keyrings/platform-installer.gpg" "$N/var/lib/platform-installer/apt/debian-12/dists/platform/InRelease" 2>/dev/null ||
    die "the node's InRelease does not verify with its keyring"

# 3. The operator's sources are byte-identical (the new entry is ours, beside them).
(cd "$N/etc/apt" && sha256sum sources.list sources.list.d/corp.list sources.list.d/unreachable.sources) >"$SCRATCH/sources.after"
diff -u "$SCRATCH/sources.before" "$SCRATCH/sources.after" || die "the operator's apt sources changed"

# 4. A re-run does nothing and calls no apt.
install >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "re-run failed"; }
expect_output "nothing to do"
! grep -q "apt-get" "$SCRATCH/out" || die "the re-run called apt-get"

echo "apt_node: ok"
