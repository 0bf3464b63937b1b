# Shared helpers for the end-to-end tests. Each test: `source "$(dirname "$0")/lib.sh"`.
# ctest passes BIN (the build's bin/ folder) and SRC (the source tree). Everything is on loopback;
# a scratch folder per run is removed on success and kept (and printed) on failure.
set -euo pipefail
trap 'echo "FAILED: ${BASH_SOURCE[0]}:${LINENO}: ${BASH_COMMAND}" >&2' ERR

: "${BIN:?set BIN to the build bin/ folder}"
: "${SRC:?set SRC to the source tree}"
BUNDLER="$BIN/bundler"
INSTALLER="$BIN/platform-installer"
export SOURCE_DATE_EPOCH=1700000000

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/pi-e2e.XXXXXX")
_PIDS=()
_HOOKS=() # functions run first at exit (lib_node.sh: stop services, remove namespaces)
_cleanup() {
    local rc=$? h
    for h in "${_HOOKS[@]}"; do "$h" || true; done
    for p in "${_PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    if [ "$rc" -eq 0 ] || [ "$rc" -eq 125 ]; then rm -rf "$SCRATCH"; else echo "scratch kept: $SCRATCH" >&2; fi
    exit "$rc"
}
trap _cleanup EXIT

skip() { echo "SKIP: $*" >&2; exit 125; }
die() { echo "FAILED: $*" >&2; exit 1; }
need_root() { [ "$(id -u)" -eq 0 ] || skip "needs root"; }

# make_root DIR: a target root standing in for a node: the installer reads the root's own os-release
# (never the host's), so give it one the test profiles list (Debian 12).
make_root() {
    mkdir -p "$1/etc"
    printf 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n' >"$1/etc/os-release"
}
# NODE_SKIPS: the preflight checks a folder standing in for a server cannot meet (its CPU, memory and
# disk are this machine's), and the root check when the tests do not run as root.
NODE_SKIPS=memory,disk,cpu
[ "$(id -u)" -eq 0 ] || NODE_SKIPS+=,root

# expect_fail "what" CMD...: CMD must exit non-zero; its stderr+stdout is left in $SCRATCH/out.
expect_fail() {
    local what=$1; shift
    if "$@" >"$SCRATCH/out" 2>&1; then cat "$SCRATCH/out" >&2; die "$what: succeeded but must fail"; fi
    return 0
}
# expect_output PATTERN: the last command's output ($SCRATCH/out) matches the extended regex.
expect_output() {
    grep -Eq -- "$1" "$SCRATCH/out" || { cat "$SCRATCH/out" >&2; die "output does not match /$1/"; }
}

source "$SRC/scripts/lib/net.sh" # free_port, http_up

# start_http DIR: serves DIR on a free loopback port; sets HTTP_PORT.
start_http() {
    local dir=$1 log="$SCRATCH/http.$RANDOM.log"
    python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$dir" >"$log" 2>&1 &
    _PIDS+=($!)
    for _ in $(seq 100); do
        HTTP_PORT=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$log" | head -n1)
        [ -n "$HTTP_PORT" ] && return 0
        sleep 0.1
    done
    die "http server did not start: $(cat "$log")"
}

# demo_workdir DIR: a workdir with the repo's manifests, its fixtures served on loopback and locked.
# The demo profile keeps its files only: its images, the registry and its packages are scripts/demo's
# (demo.sh), the image tests' (images_*.sh) and the apt tests', so the tests of everything else need no
# registry and no Debian mirror.
# Sets MIRROR (the --mirror argument) and FIXTURES (the served folder).
demo_workdir() {
    local w=$1
    mkdir -p "$w"
    cp -r "$SRC/manifests" "$w/"
    sed -i -e 's/^components: \[demo-tools, demo-images, demo-debs\]$/components: [demo-tools]/' \
        -e 's/^\(    phases: \[.*\), apt, registry, images\]$/\1]/' "$w/manifests/profiles/demo.yaml"
    grep -q 'demo-images\|demo-debs\|registry\|apt' "$w/manifests/profiles/demo.yaml" && die "demo_workdir: the demo profile changed; update the sed above"
    FIXTURES="$SCRATCH/fixtures"
    mkdir -p "$FIXTURES/tools"
    cp /bin/busybox "$FIXTURES/tools/busybox"
    echo "hello from the demo bundle" >"$FIXTURES/tools/motd"
    start_http "$FIXTURES"
    MIRROR="demo.invalid=http://127.0.0.1:$HTTP_PORT"
    "$BUNDLER" lock --profile demo --workdir "$w" --cache "$SCRATCH/cache" --mirror "$MIRROR" >/dev/null
}

# build_demo WORKDIR OUT: builds the demo profile into OUT.
build_demo() {
    "$BUNDLER" build --profile demo --workdir "$1" --cache "$SCRATCH/cache" --mirror "$MIRROR" \
        --installer "$INSTALLER" --output "$2" >/dev/null
}

# tree_state DIR: one line per file (path, mode, sha256) and per symlink (path, target), excluding the
# log, the services' logs, the lock file whose content is the last run's pid, and the journals and
# backups that record how the node got there; used to compare node states.
tree_state() {
    python3 - "$1" <<'PY'
import hashlib, os, stat, sys
root = sys.argv[1]
skip = {"./var/log/platform-installer.log", "./var/lib/platform-installer/install.lock",
        "./var/lib/platform-installer/journal.jsonl", "./var/lib/platform-installer/changes.jsonl",
        "./var/lib/platform-installer/preflight.json", "./var/lib/platform-installer/bundle.json"}
skip_under = ("./var/lib/platform-installer/backups/", "./var/lib/platform-installer/support/")
lines = []
for top, dirs, files in os.walk(root):
    for name in dirs + files:
        full = os.path.join(top, name)
        rel = "./" + os.path.relpath(full, root)
        st = os.lstat(full)
        if rel in skip or rel.startswith(skip_under): continue
        if rel.startswith("./var/lib/platform-installer/services/") and rel.endswith(".log"): continue
        if stat.S_ISLNK(st.st_mode):
            lines.append(f"{rel} -> {os.readlink(full)}")
        elif stat.S_ISREG(st.st_mode):
            h = hashlib.sha256()
            with open(full, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""): h.update(chunk)
            lines.append(f"{rel} {stat.S_IMODE(st.st_mode):o} {st.st_uid}:{st.st_gid} {h.hexdigest()}")
lines.sort()
sys.stdout.write("".join(l + "\n" for l in lines))
PY
}

# k3s_standins DIR: writes DIR/k3s and DIR/k3s-install.sh, the STAND-INS for k3s (which cannot run here)
# that the single-root tests serve as pinned files. k3s records each call (/var/log/k3s-standin/calls) and
# answers `k3s kubectl get node` Ready once install.sh "started" it (never, and with a careless log line
# quoting the token, when /etc/k3s-standin-never-ready exists); install.sh records its INSTALL_K3S_*
# environment (install.env), its whole environment (install.allenv), arguments and the config.yaml it found,
# and leaves an uninstaller as upstream's does.
k3s_standins() {
cat >"$1/k3s" <<'SH'
#!/bin/sh
# STAND-IN for the k3s binary (k3s cannot run here): records the call, answers `kubectl get node`.
mkdir -p /var/log/k3s-standin
echo "k3s $*" >>/var/log/k3s-standin/calls
if [ "$1" = kubectl ] && [ "$2" = get ] && [ "$3" = node ]; then
    if [ -e /etc/k3s-standin-never-ready ]; then # a careless log line quoting the token: support bundles must redact it
        echo "level=fatal msg=\"cannot join with token $(cat /etc/platform-installer/cluster-token)\"" >>/var/log/k3s.log
    fi
    [ -e /var/lib/k3s-standin/started ] && [ ! -e /etc/k3s-standin-never-ready ] || { echo "The connection to the server was refused" >&2; exit 1; }
    echo True
fi
SH
cat >"$1/k3s-install.sh" <<'SH'
#!/bin/sh
# STAND-IN for upstream's install.sh: records what it was given, checks the binary it would install is
# there (INSTALL_K3S_SKIP_DOWNLOAD=true), and "starts" k3s.
mkdir -p /var/log/k3s-standin /var/lib/k3s-standin
env | grep '^INSTALL_K3S_' | sort >/var/log/k3s-standin/install.env
env | sort >/var/log/k3s-standin/install.allenv
echo "$*" >/var/log/k3s-standin/install.args
[ -x /usr/local/bin/k3s ] || { echo "install.sh: /usr/local/bin/k3s missing" >&2; exit 1; }
cp /etc/rancher/k3s/config.yaml /var/log/k3s-standin/config.seen
touch /var/lib/k3s-standin/started
# As upstream's does, it leaves an uninstaller (here a stand-in that undoes the stand-in).
u=/usr/local/bin/k3s-uninstall.sh
[ "$INSTALL_K3S_EXEC" = agent ] && u=/usr/local/bin/k3s-agent-uninstall.sh
printf '#!/bin/sh\nrm -rf /var/lib/k3s-standin /etc/rancher/k3s\necho "$0" >/var/log/k3s-uninstalled\nrm -f "$0"\n' >"$u"
chmod 0755 "$u"
SH
}

# k3s_component W BASE: a component k3s in workdir W whose binary k3s and upstream install script
# (k3s-install.sh, the name the k3s phase runs) are fetched from BASE/k3s and BASE/k3s-install.sh.
k3s_component() {
    cat >"$1/manifests/components/k3s.yaml" <<YAML
name: k3s
binaries:
  - {name: k3s, url: "$2/k3s", install: /usr/local/bin/k3s}
files:
  - {name: k3s-install.sh, url: "$2/k3s-install.sh", install: /usr/local/lib/platform-installer/k3s-install.sh, mode: "0755"}
YAML
}

# debian_lists_mirror DIR [LISTS]: debian_mirror_from_lists (scripts/lib/debian-mirror.sh), skipping the
# test on a machine without amd64 lists.
source "$SRC/scripts/lib/debian-mirror.sh"
debian_lists_mirror() { debian_mirror_from_lists "$@" || skip "no amd64 'main' apt lists (run apt-get update)"; }

# apt_sim ROOT PKG...: what `apt-get install -s` would install ("name version" lines, sorted), with
# the lists snapshot in ROOT/lists, the sources in ROOT/sources.list and the dpkg status ROOT/status.
apt_sim() {
    local root=$1; shift
    apt-get -s -q -o Dir::State::status="$root/status" -o Dir::State::Lists="$root/lists" \
        -o Dir::Etc::SourceList="$root/sources.list" -o Dir::Etc::SourceParts=/nonexistent \
        -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= -o APT::Install-Recommends=false \
        -o Debug::NoLocking=1 install "$@" 2>&1 | sed -n 's/^Inst \([^ ]*\) (\([^ ]*\) .*/\1 \2/p' | sort
}

# debian_target W APTDIR: after debian_lists_mirror and start_http, writes W/manifests/targets/debian-12.yaml
# (every listed suite, Debian's keyring), APTDIR/sources.list and APTDIR/lists for apt, and sets
# MIRRORS (the --mirror arguments that send each host to the loopback server).
debian_target() {
    local w=$1 a=$2 keyring=/usr/share/keyrings/debian-archive-keyring.gpg url suite host
    [ -f "$keyring" ] || skip "needs debian-archive-keyring"
    mkdir -p "$w/manifests/targets" "$a"
    cp -r "$LISTS_SNAPSHOT" "$a/lists"
    MIRRORS=()
    {
        echo "name: debian-12"; echo "os: debian"; echo 'release: "12"'; echo "arch: amd64"; echo "sources:"
        while read -r url suite; do
            [ -n "$url" ] || continue
            echo "  - {url: $url, suite: $suite, components: [main], keyring: $keyring, check_valid_until: false}"
            echo "deb [signed-by=$keyring] $url $suite main" >>"$a/sources.list"
            host=${url#http://}; host=${host%%/*}
            MIRRORS+=(--mirror "$host=http://127.0.0.1:$HTTP_PORT/$host")
        done <<<"$LIST_SOURCES"
    } >"$w/manifests/targets/debian-12.yaml"
}

# apt_status BASE STATUS MIRRORDIR: a dpkg status file marking installed every "name version" of BASE,
# with the stanzas of the mirror's Packages files.
apt_status() {
    python3 - "$1" "$2" "$3" <<'PY'
import glob, sys
want = {tuple(l.split()[:2]) for l in open(sys.argv[1]) if l.strip()}
out = []
for f in sorted(glob.glob(sys.argv[3] + "/**/Packages", recursive=True)):
    for stanza in open(f, encoding="utf-8", errors="replace").read().split("\n\n"):
        fields = dict(l.split(":", 1) for l in stanza.split("\n") if l and not l[0].isspace() and ":" in l)
        key = (fields.get("Package", "").strip(), fields.get("Version", "").strip())
        if key in want:
            lines = stanza.strip("\n").split("\n")
            out.append("\n".join(lines[:1] + ["Status: install ok installed"] + lines[1:]))
            want.discard(key)
if want:
    sys.exit("base packages not found in the indexes: %s" % sorted(want))
open(sys.argv[2], "w").write("\n\n".join(out) + "\n")
PY
}
