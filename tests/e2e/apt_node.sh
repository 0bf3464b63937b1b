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

# 5. Interrupted: dpkg stopped half way (jq unpacked, not configured, its journal pending, as a kill -9
#    or a power cut leaves it; apt alone refuses to go on), and an install killed right after apt-get
#    update. Each re-run converges on the locked versions.
chroot "$N" dpkg --purge jq >/dev/null
pool=/var/lib/platform-installer/apt/debian-12/pool
chroot "$N" dpkg --unpack "$pool/$(cd "$N$pool" && ls jq_*.deb)" >/dev/null 2>&1
touch "$N/var/lib/dpkg/updates/0000"
[ "$(chroot "$N" dpkg-query -W -f '${db:Status-Abbrev}' jq)" = "iU " ] || die "could not leave jq half installed"
install >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "the re-run after an interrupted dpkg failed"; }
expect_output "dpkg --configure -a"
[ "$(chroot "$N" dpkg-query -W -f '${Version} ${db:Status-Abbrev}' jq)" = "$(awk '$1 == "jq" { print $2 }' "$SCRATCH/want") ii " ] ||
    die "jq is not installed at its locked version after the re-run"
chroot "$N" dpkg --purge jq socat >/dev/null
rc=0
PLATFORM_INSTALLER_FAILPOINT="apt.updated=kill" install >"$SCRATCH/out" 2>&1 || rc=$?
[ "$rc" -eq 137 ] || { cat "$SCRATCH/out" >&2; die "want the install killed after apt-get update (137), got $rc"; }
install >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "the re-run after the kill failed"; }
expect_output "resuming: the previous run stopped during phase apt"
while read -r name version; do
    [ "$(chroot "$N" dpkg-query -W -f '${Version} ${db:Status-Abbrev}' "$name")" = "$version ii " ] || die "$name not at $version after the kill and re-run"
done <"$SCRATCH/want"

# 6. Another program holds the dpkg lock (as unattended-upgrades does on a fresh Ubuntu): the phase waits
#    and names it; past --apt-lock-timeout it fails naming it; released in time, the install goes on.
hold_lock() { # hold_lock SECONDS: an fcntl write lock on the root's dpkg frontend lock, as dpkg takes it
    python3 -c 'import fcntl, sys, time; f = open(sys.argv[1], "r+"); fcntl.lockf(f, fcntl.LOCK_EX); print("locked", flush=True); time.sleep(float(sys.argv[2]))' \
        "$N/var/lib/dpkg/lock-frontend" "$1" >"$SCRATCH/lock.out" &
    LOCKER=$!
    _PIDS+=($LOCKER)
    for _ in $(seq 50); do grep -q locked "$SCRATCH/lock.out" && return 0; sleep 0.1; done
    die "could not take the dpkg lock"
}
chroot "$N" dpkg --purge jq >/dev/null
hold_lock 60
expect_fail "install while another program holds the dpkg lock" install --apt-lock-timeout 2
expect_output "python3 \(pid $LOCKER\) still holds /var/lib/dpkg/lock-frontend after 2 s"
kill "$LOCKER"; wait "$LOCKER" 2>/dev/null || true
hold_lock 3
install --apt-lock-timeout 60 >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "the install did not wait for the dpkg lock"; }
expect_output "waiting up to 60 s for python3 \(pid $LOCKER\), which holds /var/lib/dpkg/lock-frontend"
[ "$(chroot "$N" dpkg-query -W -f '${db:Status-Abbrev}' jq)" = "ii " ] || die "jq is not installed after the wait"
# 7. A release the bundle has no packages for (preflight's os check skipped): refused naming the ones it
#    has, before the phase changes anything.
U="$SCRATCH/ubuntu"
make_root "$U"
printf 'ID=ubuntu\nVERSION_ID="24.04"\n' >"$U/etc/os-release"
find "$U" | sort >"$SCRATCH/ubuntu.before"
expect_fail "install on a release without packages" "$RUN" --role master --root "$U" --yes --skip-check "$NODE_SKIPS,os" --only apt
expect_output "this node runs ubuntu 24.04 \(ubuntu-24.04\): the bundle carries packages for debian-12"
find "$U" | grep -v '^'"$U"'/var' | sort | diff - <(grep -v '^'"$U"'/var' "$SCRATCH/ubuntu.before") || die "the refused install changed the root"
[ ! -e "$U/var/lib/platform-installer/apt" ] && [ ! -e "$U/etc/apt" ] || die "the refused install laid out apt files"
echo "apt_node: ok"
