#!/usr/bin/env bash
# Packages installed on a node by its own apt, offline: jq socat conntrack ipset nfs-common, their closure
# beyond the base set pinned by the resolver for Debian 12 and Debian 11 (the real .debs served from
# loopback at lock and build time), in one bundle; then the installer's apt phase runs in a copy of a
# `debootstrap --variant=minbase bookworm` root (scripts/make-debian-root) with the network cut
# (unshare -n): the node's repository is signed with a key the installer made on the node, apt checks it
# (signed-by, never trusted=yes), dpkg shows the locked versions, the root's own source files (one
# pointing at a host nobody can reach) are byte-identical afterwards, and a re-run calls no apt. Then:
# interrupted installs converge, the dpkg lock is waited for, a tampered .deb, Packages or InRelease is
# refused by apt itself, a bullseye root gets the Debian 11 closure from the same bundle, and --reset
# purges what the install brought.
source "$(dirname "$0")/lib.sh"
need_root # chroot, unshare -n
TAR=$("$SRC/scripts/make-debian-root" bookworm 2>/dev/null) || skip "no debootstrap root (scripts/setup makes it: scripts/make-debian-root bookworm)"
TAR11=$("$SRC/scripts/make-debian-root" bullseye 2>/dev/null) || skip "no Debian 11 root (scripts/setup makes it: scripts/make-debian-root bullseye)"
APT_PHASES="preflight, store, apt"
APT_DEBS="jq, socat, conntrack, ipset, nfs-common"
BULLSEYE=1
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
tree_state "$N" >"$SCRATCH/tree.before"
chroot "$N" dpkg-query -W -f '${Package} ${Version} ${db:Status-Abbrev}\n' | sort >"$SCRATCH/dpkg.before"
install() { unshare -n "$RUN" --role master --root "$N" --yes --skip-check "$NODE_SKIPS" "$@"; }
install >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "install with the apt phase failed"; }
expect_output "made this node's repository key"

# 1. dpkg has every package of the closure at its locked version.
locked() { # locked TARGET: "name version" of every package debs.lock pins for TARGET
    python3 - "$W/debs.lock" "$1" <<'PY'
import sys, yaml
t = {x["name"]: x for x in yaml.safe_load(open(sys.argv[1]))["targets"]}[sys.argv[2]]
for p in t["packages"]: print(p["name"], p["version"])
PY
}
at_locked() { # at_locked ROOT TARGET: dpkg in ROOT has every package of TARGET's closure at its locked version
    local name version got
    while read -r name version; do
        got=$(chroot "$1" dpkg-query -W -f '${Version} ${db:Status-Abbrev}' "$name" 2>/dev/null || true)
        [ "$got" = "$version ii " ] || die "$1: $name: dpkg has '$got', want '$version ii '"
    done < <(locked "$2")
}
locked debian-12 >"$SCRATCH/want"
grep -q '^nfs-common ' "$SCRATCH/want" && grep -q '^conntrack ' "$SCRATCH/want" && grep -q '^ipset ' "$SCRATCH/want" || die "the lock lacks a requested package"
at_locked "$N" debian-12
chroot "$N" jq --version >/dev/null || die "the installed jq does not run"
chroot "$N" conntrack --version >/dev/null && chroot "$N" ipset --version >/dev/null || die "the installed conntrack or ipset does not run"

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
#    or a power cut leaves it; apt alone refuses to go on), an install killed right after apt-get update,
#    and one killed during apt-get install. Each re-run converges on the locked versions.
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
# And a real kill -9 in the middle of apt-get install, as a power cut does it: the installer, apt-get and
# dpkg all killed once dpkg has started on the packages (nfs-common and python3 are among them: seconds
# of work); the re-run finishes dpkg's work first, then installs the rest.
chroot "$N" dpkg --purge nfs-common python3 python3.11 python3-minimal python3.11-minimal libpython3.11-stdlib libpython3-stdlib \
    libpython3.11-minimal rpcbind >/dev/null 2>&1
in_root() { local p; for p in $(pgrep -x "$1"); do [ "$(readlink "/proc/$p/root")" = "$N" ] && echo "$p"; done; return 0; }
install >"$SCRATCH/out" 2>&1 &
victim=$!
for _ in $(seq 600); do [ -n "$(in_root dpkg)" ] && ls "$N"/var/lib/dpkg/updates/0* >/dev/null 2>&1 && break; sleep 0.05; done
[ -n "$(in_root dpkg)" ] || { cat "$SCRATCH/out" >&2; die "dpkg never ran in the root"; }
kill -9 $(pgrep -f "^$RUN --role master --root $N ") $(in_root apt-get) $(in_root dpkg) $(in_root sh) 2>/dev/null || true
wait "$victim" 2>/dev/null || true
install >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "the re-run after kill -9 during apt-get install failed"; }
expect_output "resuming: the previous run stopped during phase apt"
at_locked "$N" debian-12

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
hold_lock 120 # released once the install says it waits (however long the phases before apt take)
install --apt-lock-timeout 60 >"$SCRATCH/out" 2>&1 &
waiter=$!
for _ in $(seq 300); do grep -q "waiting up to 60 s for python3" "$SCRATCH/out" && break; sleep 0.1; done
kill "$LOCKER"; wait "$LOCKER" 2>/dev/null || true
wait "$waiter" || { cat "$SCRATCH/out" >&2; die "the install did not wait for the dpkg lock"; }
expect_output "waiting up to 60 s for python3 \(pid $LOCKER\), which holds /var/lib/dpkg/lock-frontend"
[ "$(chroot "$N" dpkg-query -W -f '${db:Status-Abbrev}' jq)" = "ii " ] || die "jq is not installed after the wait"
# 7. A release the bundle has no packages for (preflight's os check skipped): refused naming the ones it
#    has, before the phase changes anything.
U="$SCRATCH/ubuntu"
make_root "$U"
printf 'ID=ubuntu\nVERSION_ID="24.04"\n' >"$U/etc/os-release"
find "$U" | sort >"$SCRATCH/ubuntu.before"
expect_fail "install on a release without packages" "$RUN" --role master --root "$U" --yes --skip-check "$NODE_SKIPS,os" --only apt
expect_output "this node runs ubuntu 24.04 \(ubuntu-24.04\): the bundle carries packages for debian-11, debian-12"
find "$U" | grep -v '^'"$U"'/var' | sort | diff - <(grep -v '^'"$U"'/var' "$SCRATCH/ubuntu.before") || die "the refused install changed the root"
[ ! -e "$U/var/lib/platform-installer/apt" ] && [ ! -e "$U/etc/apt" ] || die "the refused install laid out apt files"

# 8. Tampered files in the node's repository, changed while the install is stopped between laying the
#    repository out and calling apt (a copy with one byte changed replaces each, so the store keeps the
#    good bytes): apt itself refuses each, the phase fails naming the file, nothing is installed, and the
#    next run puts the repository back from the store and installs.
flip_byte() { # flip_byte FILE OFFSET: FILE replaced by a copy with the byte at OFFSET changed
    cp -p "$1" "$1.t"
    python3 -c 'import sys; f = open(sys.argv[1], "r+b"); f.seek(int(sys.argv[2])); b = f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 0x20]))' "$1.t" "$2"
    mv "$1.t" "$1"
}
repo=$N/var/lib/platform-installer/apt/debian-12
tamper() { # tamper WHAT PATTERN FILE...: the install stopped at apt.laid_out, FILEs changed, apt must refuse with PATTERN
    local what=$1 pattern=$2 f pid rc=0
    shift 2
    chroot "$N" dpkg --purge jq >/dev/null
    PLATFORM_INSTALLER_FAILPOINT=apt.laid_out=stop unshare -n "$RUN" --role master --root "$N" --yes --skip-check "$NODE_SKIPS" >"$SCRATCH/out" 2>&1 &
    pid=$!
    for _ in $(seq 300); do grep -q '^State:.*stopped' "/proc/$pid/status" 2>/dev/null && break; sleep 0.1; done
    grep -q '^State:.*stopped' "/proc/$pid/status" || die "the install did not stop at apt.laid_out"
    # apt reads an index only when its copy in the lists differs from what the Release names: drop the
    # copies, as on a node's first install, so apt reads the files in the repository.
    rm -f "$N"/var/lib/platform-installer/apt/lists/*_Packages*
    for f in "$@"; do
        case $f in
        *InRelease) sed -i 's/^Label: platform-installer$/Label: platform-installeR/' "$f" ;;
        *) flip_byte "$f" 200 ;;
        esac
    done
    kill -CONT "$pid"
    wait "$pid" || rc=$?
    [ "$rc" -ne 0 ] || { cat "$SCRATCH/out" >&2; die "apt accepted a tampered $what"; }
    expect_output "$pattern"
    [ "$(chroot "$N" dpkg-query -W -f '${db:Status-Abbrev}' jq 2>/dev/null)" != "ii " ] || die "jq was installed from a tampered $what"
    install >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "the run after a tampered $what did not repair and install"; }
    at_locked "$N" debian-12
}
tamper ".deb" "apt-get install .* failed \(exit 100\): Failed to fetch file:/var/lib/platform-installer/apt/debian-12/pool/jq_[^ ]*\.deb +Hash Sum mismatch" \
    "$(ls "$repo"/pool/jq_*.deb)"
tamper "Packages" "apt-get update .* failed \(exit 100\): Failed to fetch file:/var/lib/platform-installer/apt/debian-12/dists/platform/main/binary-amd64/Packages[.a-z]* +Hash Sum mismatch" \
    "$repo"/dists/platform/main/binary-amd64/Packages*
tamper "InRelease" "apt-get update .* failed \(exit 100\): Failed to fetch file:/var/lib/platform-installer/apt/debian-12/dists/platform/InRelease +The following signatures were invalid: BADSIG" \
    "$repo/dists/platform/InRelease"

# 9. A Debian 11 root gets the debian-11 closure from the same bundle.
B="$SCRATCH/node11"
mkdir -p "$B"
tar -C "$B" -xf "$SRC/$TAR11"
unshare -n "$RUN" --role master --root "$B" --yes --skip-check "$NODE_SKIPS" >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "install on the Debian 11 root failed"; }
expect_output "[0-9]+ packages for debian-11 in /var/lib/platform-installer/apt/debian-11"
at_locked "$B" debian-11
locked debian-11 >"$SCRATCH/want11" # whole, not through grep -q (which would close the pipe on python mid-write)
grep -q '^jq 1.6-2.1$' "$SCRATCH/want11" || die "the debian-11 closure does not have Debian 11's jq"
chroot "$B" jq --version >/dev/null || die "jq does not run on the Debian 11 root"

# 10. --reset purges every package the install brought (and nothing the root had), and removes the
#     repository, its key, keyring and sources entry; the operator's sources are as they were. What
#     remains different is apt's and dpkg's own bookkeeping and the users the packages' scripts added.
"$RUN" --reset --root "$N" --yes >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "--reset failed"; }
chroot "$N" dpkg-query -W -f '${Package} ${Version} ${db:Status-Abbrev}\n' | sort >"$SCRATCH/dpkg.after"
diff -u "$SCRATCH/dpkg.before" "$SCRATCH/dpkg.after" || die "--reset did not leave dpkg's packages as they were"
tree_state "$N" >"$SCRATCH/tree.after"
diff "$SCRATCH/tree.before" "$SCRATCH/tree.after" | sed -n 's/^[<>] \([^ ]*\).*/\1/p' | sort -u >"$SCRATCH/tree.diff" || true
grep -Ev '^\./(var/lib/dpkg/|var/cache/(apt|debconf|ldconfig)/|var/log/|var/lib/apt/|etc/(passwd|group|shadow|gshadow|subuid|subgid)-?$|etc/ld\.so\.cache$|run/adduser$|var/lib/platform-installer/store/)' \
    "$SCRATCH/tree.diff" >"$SCRATCH/tree.unexpected" || true
[ ! -s "$SCRATCH/tree.unexpected" ] || { cat "$SCRATCH/tree.unexpected" >&2; die "--reset left these files changed"; }
[ ! -e "$N/etc/apt/keyrings/platform-installer.gpg" ] && [ ! -e "$N/etc/apt/sources.list.d/platform-installer.sources" ] &&
    [ ! -e "$N/var/lib/platform-installer/apt" ] || die "--reset left the keyring, the sources entry or the repository"
! grep -q "^  kept" "$SCRATCH/out" || { cat "$SCRATCH/out" >&2; die "--reset kept something it should have removed"; }
echo "apt_node: ok"
