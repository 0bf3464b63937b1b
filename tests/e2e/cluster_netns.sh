#!/usr/bin/env bash
# A cluster of five nodes, each a network namespace with its own Debian 12 root (debootstrap minbase) on
# one bridge: three masters behind a VIP and two workers, one with has_gpu. They run the same .run with
# one cluster.yaml, in the run-books' order: the first master, the other masters one at a time, then the
# workers. Real: the bundle, apt installing the packages each node is meant to have (keepalived and
# haproxy on masters only; a GPU-only package, ipset STANDING IN for nvidia-container-toolkit, which is
# not a Debian package, on the GPU node only), the CNCF registry on every node, keepalived holding the VIP
# (unicast VRRP between the masters' namespaces) and haproxy behind it, the cross-node preflight checks.
# k3s cannot run here: its binary and install.sh are STOOD IN by scripts that record how they were
# called; on masters the stand-in answers on 6443 with its node's name (socat, from the bundle), so the
# VIP is checked end to end: a worker connects to VIP:16443 and reaches a master's "API server".
# A kill -9 during m2's ha phase and w1's k3s phase, each followed by a re-run, converge like the others.
# Checked: each node's registry, registries.yaml, packages, labels and k3s config; a worker pulls an
# image from a master's registry; the VIP answers, and moves to another master within seconds when the
# holder's keepalived is stopped; the GPU node's packages are installed before k3s first starts (journal
# order); a join out of order is refused by preflight; --reset gives each root back as it was.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_images.sh"
source "$(dirname "$0")/lib_node.sh"
need_root # namespaces, chroot
TAR=$("$SRC/scripts/make-debian-root" bookworm 2>/dev/null) || skip "no debootstrap root (scripts/setup makes it: scripts/make-debian-root bookworm)"
ls "$BIN/../fixtures/debs"/keepalived_*.deb >/dev/null 2>&1 || skip "no keepalived fixture (scripts/setup: scripts/fixture-debs bookworm)"
APT_DEBS="socat"
source "$(dirname "$0")/lib_apt.sh" # the Debian repository fixture, W, lock, build (profile debs)

# Images: the test images in an anonymous loopback registry (the bundler's upstream).
images_build "$SCRATCH/layout"
images_start_registry anon
images_push "$SCRATCH/layout" "$REG_ANON"

# The k3s STAND-INS, and the registry binary, served as pinned files.
F="$SCRATCH/srv/files"
mkdir -p "$F"
cp /usr/bin/docker-registry "$F/registry"
cat >"$F/k3s" <<'SH'
#!/bin/sh
# STAND-IN for k3s: records each call; `k3s kubectl get node` answers Ready once install.sh "started" it.
mkdir -p /var/log/k3s-standin
echo "k3s $*" >>/var/log/k3s-standin/calls
if [ "$1" = kubectl ] && [ "$2" = get ] && [ "$3" = node ]; then
    [ -e /var/lib/k3s-standin/started ] || { echo "The connection to the server was refused" >&2; exit 1; }
    echo True
fi
SH
cat >"$F/k3s-install.sh" <<'SH'
#!/bin/sh
# STAND-IN for upstream's install.sh: records its environment and the config it found, then "starts" k3s:
# a server answers on 6443 with its node name, an agent's kubelet health answers on 127.0.0.1:10248.
set -e
mkdir -p /var/log/k3s-standin /var/lib/k3s-standin
env | grep '^INSTALL_K3S_' | sort >/var/log/k3s-standin/install.env
cp /etc/rancher/k3s/config.yaml /var/log/k3s-standin/config.seen
dpkg-query -W -f '${Package}\n' >/var/log/k3s-standin/packages.seen
name=$(sed -n 's/^node-name: "\(.*\)"$/\1/p' /etc/rancher/k3s/config.yaml)
if [ "$INSTALL_K3S_EXEC" = server ]; then
    printf '#!/bin/sh\necho "k3s-api %s"\n' "$name" >/var/lib/k3s-standin/api
    chmod 0755 /var/lib/k3s-standin/api
    setsid socat TCP-LISTEN:6443,fork,reuseaddr EXEC:/var/lib/k3s-standin/api </dev/null >/dev/null 2>&1 &
    u=/usr/local/bin/k3s-uninstall.sh
else
    printf '#!/bin/sh\nprintf "HTTP/1.0 200 OK\\r\\n\\r\\nok\\n"\n' >/var/lib/k3s-standin/healthz
    chmod 0755 /var/lib/k3s-standin/healthz
    setsid socat TCP-LISTEN:10248,bind=127.0.0.1,fork,reuseaddr EXEC:/var/lib/k3s-standin/healthz </dev/null >/dev/null 2>&1 &
    u=/usr/local/bin/k3s-agent-uninstall.sh
fi
echo $! >/var/lib/k3s-standin/pid
touch /var/lib/k3s-standin/started
printf '#!/bin/sh\nkill $(cat /var/lib/k3s-standin/pid) 2>/dev/null\nrm -rf /var/lib/k3s-standin /var/log/k3s-standin /etc/rancher/k3s\nrm -f "$0"\n' >"$u"
chmod 0755 "$u"
SH

# The profile: every node gets socat, the registry and the images; masters keepalived + haproxy; the GPU
# node ipset (standing in for the NVIDIA toolkit).
cat >"$W/manifests/profiles/debs.yaml" <<'YAML'
name: cluster
version: 0.1.0
platforms: [{os: debian, release: "12", arch: amd64}]
components: [tools, ha, gpu, registry, node-images, k3s]
roles:
  master: {phases: [preflight, store, binaries, apt, registry, images, ha, k3s], minima: {cpus: 1, memory_gb: 1, disk_gb: 1}}
  worker: {phases: [preflight, store, binaries, apt, registry, images, ha, k3s], minima: {cpus: 1, memory_gb: 1, disk_gb: 1}}
YAML
sed -i 's/^name: cluster$/name: debs/' "$W/manifests/profiles/debs.yaml" # lock and build name the profile debs
cat >"$W/manifests/components/ha.yaml" <<'YAML'
name: ha
debs: [{name: keepalived, roles: [master]}, {name: haproxy, roles: [master]}]
YAML
cat >"$W/manifests/components/gpu.yaml" <<'YAML'
name: gpu
debs: [{name: ipset, gpu: true}]
YAML
cat >"$W/manifests/components/registry.yaml" <<'YAML'
name: registry
binaries:
  - {name: registry, url: http://files.invalid/files/registry, install: /usr/local/bin/registry}
YAML
cat >"$W/manifests/components/node-images.yaml" <<'YAML'
name: node-images
images:
  - pitest/app-a:1
YAML
k3s_component "$W" http://files.invalid/files
MIRRORS+=(--mirror "docker.io=http://$REG_ANON" --mirror "files.invalid=http://127.0.0.1:$HTTP_PORT")
lock >/dev/null
RUN="$SCRATCH/cluster.run"
build --output "$RUN" >/dev/null
stop_last # the upstream registry: from here on the nodes are alone

# Five nodes on one bridge; the VIP is a free address of their subnet.
make_nodes "pc$$" 5
NET=${NODE_IP[1]%.*}
VIP=$NET.100
NAMES=(- m1 m2 m3 w1 g1)
cat >"$SCRATCH/cluster.yaml" <<YAML
cluster:
  name: lab
  vip: $VIP
  interface: eth0
nodes:
  - {name: m1, address: ${NODE_IP[1]}/24, role: master}
  - {name: m2, address: ${NODE_IP[2]}/24, role: master}
  - {name: m3, address: ${NODE_IP[3]}/24, role: master}
  - {name: w1, address: ${NODE_IP[4]}/24, role: worker, labels: {notebook: "true"}}
  - {name: g1, address: ${NODE_IP[5]}/24, role: worker, has_gpu: true, labels: {train: "true"}}
YAML
TOKEN=/etc/platform-installer/cluster-token
for i in 1 2 3 4 5; do
    r="$SCRATCH/${NAMES[$i]}"
    mkdir -p "$r" && tar -C "$r" -xf "$SRC/$TAR"
    echo "${NAMES[$i]}" >"$r/etc/hostname"
    tree_state "$r" >"$SCRATCH/${NAMES[$i]}.before"
done
mkdir -p "$SCRATCH/g1/proc/driver/nvidia" # a STAND-IN driver for the GPU node
echo "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15 (STAND-IN)" >"$SCRATCH/g1/proc/driver/nvidia/version"
install_node() { # install_node I [ARGS...]
    local i=$1; shift
    ip netns exec "${NODE_NS[$i]}" "$RUN" --config "$SCRATCH/cluster.yaml" --node "${NAMES[$i]}" --root "$SCRATCH/${NAMES[$i]}" \
        --registry-listen "${NODE_IP[$i]}:5000" --yes --skip-check "$NODE_SKIPS" "$@"
}
copy_token() { mkdir -p "$SCRATCH/$1/etc/platform-installer" && install -m 0600 "$SCRATCH/m1$TOKEN" "$SCRATCH/$1$TOKEN"; }

# A joining master before the first one: preflight says the registration address does not answer.
expect_fail "a master joining before the first" install_node 2
expect_output "registration: .*install the first master \(m1, ${NODE_IP[1]//./\\.}\) first"
[ ! -e "$SCRATCH/m2/usr/local/bin/k3s" ] || die "a refused join changed the node"

# 1. The first master: its registry, keepalived takes the VIP, haproxy serves it.
install_node 1 >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "m1's install failed"; }
expect_output "keepalived \(VRRP id [0-9]+, priority 150\) and haproxy on port 16443 for the VIP $VIP"
for _ in $(seq 50); do ip -n "${NODE_NS[1]}" addr show eth0 | grep -q " $VIP/" && break; sleep 0.2; done
ip -n "${NODE_NS[1]}" addr show eth0 | grep -q " $VIP/24" || die "the first master does not hold the VIP"
# 2. m3 before m2: the order is refused (m2 does not answer yet).
copy_token m3
expect_fail "m3 before m2" install_node 3
expect_output "join-order: .*masters join one at a time.*install m2"
# killed_then_resumed I FAILPOINT: the node's install dies of SIGKILL there; the re-run resumes and finishes
# (what it reaches is checked below with every other node's state, and by the reset diff).
killed_then_resumed() {
    local rc=0
    PLATFORM_INSTALLER_FAILPOINT=$2 install_node "$1" >"$SCRATCH/out" 2>&1 || rc=$?
    [ "$rc" -eq 137 ] || { cat "$SCRATCH/out" >&2; die "${NAMES[$1]} $2: want exit 137 (SIGKILL), got $rc"; }
    install_node "$1" >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "${NAMES[$1]}: the re-run after a kill at $2 failed"; }
    expect_output "resuming: the previous run stopped during phase"
}
copy_token m2
# m2 killed once its keepalived and haproxy run (they outlive the installer); the re-run finds them up.
killed_then_resumed 2 ha.started
install_node 3 >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "m3's install failed"; }
for w in 4 5; do
    copy_token "${NAMES[$w]}"
    if [ "$w" = 4 ]; then killed_then_resumed 4 k3s.installed # w1 killed after install.sh, before Ready
    else install_node "$w" >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "${NAMES[$w]}'s install failed"; }; fi
done

# 3. Each node: its k3s config, packages, registry and mirrors.
for i in 1 2 3 4 5; do
    n=${NAMES[$i]} r="$SCRATCH/${NAMES[$i]}"
    c="$r/etc/rancher/k3s/config.yaml"
    grep -qx "node-name: \"$n\"" "$c" && grep -qx "node-ip: \"${NODE_IP[$i]}\"" "$c" || die "$n: wrong node name or address in config.yaml"
    grep -qx 'flannel-iface: "eth0"' "$c" || die "$n: no flannel-iface"
    if [ "$i" = 1 ]; then grep -qx 'cluster-init: true' "$c" || die "m1 does not start the cluster"
    else grep -qx "server: \"https://$VIP:16443\"" "$c" || die "$n does not join through the VIP's balancer"; fi
    [ "$i" -le 3 ] && { grep -qx "  - \"$VIP\"" "$c" || die "$n: the VIP is not in tls-san"; }
    exec_want=server; [ "$i" -ge 4 ] && exec_want=agent
    grep -qx "INSTALL_K3S_EXEC=$exec_want" "$r/var/log/k3s-standin/install.env" || die "$n is not a k3s $exec_want"
    label=cpu; [ "$n" = g1 ] && label=gpu
    grep -qx "  - \"$label=true\"" "$c" && grep -qx '  - "org=public"' "$c" || die "$n lacks $label=true or org=public"
    has() { chroot "$r" dpkg-query -W -f '${db:Status-Abbrev}' "$1" 2>/dev/null | grep -q '^ii'; }
    has socat || die "$n lacks socat"
    if [ "$i" -le 3 ]; then has keepalived && has haproxy || die "master $n lacks keepalived or haproxy"
    else ! has keepalived && ! has haproxy || die "worker $n got the masters' HA packages"; fi
    if [ "$n" = g1 ]; then has ipset || die "the GPU node lacks its GPU-only package"
    else ! has ipset || die "$n (no GPU) got the GPU-only package"; fi
    ip netns exec "${NODE_NS[$i]}" curl -sf -o /dev/null "http://${NODE_IP[$i]}:5000/v2/" || die "$n's registry does not answer"
    python3 - "$r/etc/rancher/k3s/registries.yaml" "${NODE_IP[$i]}" "$i" "${NODE_IP[1]}" "${NODE_IP[2]}" "${NODE_IP[3]}" <<'PY' || die "$n: registries.yaml"
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
me, i, masters = sys.argv[2], int(sys.argv[3]), sys.argv[4:]
want = ["http://%s:5000" % me] + ["http://%s:5000" % m for k, m in enumerate(masters, 1) if k != i]
got = doc["mirrors"]["*"]["endpoint"]
if got != want: sys.exit("endpoints %s, want %s (its own registry, then the other masters')" % (got, want))
PY
done
grep -qx '  - "notebook=true"' "$SCRATCH/w1/etc/rancher/k3s/config.yaml" && grep -qx '  - "train=true"' "$SCRATCH/g1/etc/rancher/k3s/config.yaml" ||
    die "the inventory's labels are not in the workers' configs"
# The GPU node's packages were there when k3s first started (k3s detects the NVIDIA runtime at start):
# install.sh saw ipset installed, and the journal has apt done before k3s began.
grep -qx ipset "$SCRATCH/g1/var/log/k3s-standin/packages.seen" || die "the GPU package was not installed before k3s started"
python3 - "$SCRATCH/g1/var/lib/platform-installer/journal.jsonl" <<'PY' || die "the GPU node's journal order"
import json, sys
events = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def first(phase, status):
    return next(i for i, e in enumerate(events) if e.get("phase") == phase and e.get("event") == status)
if not first("apt", "done") < first("k3s", "start"): sys.exit("k3s started before apt was done")
PY

# 4. A worker pulls an image from a master's registry (its own registry stopped).
digest=$(images_lock_get "$W" pitest/app-a:1 digest)
ip netns exec "${NODE_NS[4]}" skopeo inspect --raw --tls-verify=false "docker://${NODE_IP[2]}:5000/pitest/app-a:1" >"$SCRATCH/m.json" ||
    die "w1 cannot pull pitest/app-a:1 from m2's registry"
[ "sha256:$(sha256sum <"$SCRATCH/m.json" | cut -d' ' -f1)" = "$digest" ] || die "m2's registry served another manifest than images.lock pins"

# 5. The VIP: a worker reaches a master's API through it; it moves when the holder's keepalived stops.
api() { ip netns exec "${NODE_NS[4]}" timeout 3 bash -c "exec 3<>/dev/tcp/$VIP/16443 && head -n1 <&3" 2>/dev/null; }
api | grep -q '^k3s-api m[123]$' || die "VIP:16443 does not reach a master's API server through haproxy"
holder() { local i; for i in 1 2 3; do ip -n "${NODE_NS[$i]}" addr show eth0 | grep -q " $VIP/" && echo "$i"; done; }
[ "$(holder)" = 1 ] || die "the VIP is on $(holder), not only on m1 (the highest priority)"
read -r kpid _ <"$SCRATCH/m1/var/lib/platform-installer/services/platform-keepalived.pid"
kill "$kpid"
start=$(date +%s)
for _ in $(seq 50); do [ "$(holder)" = 2 ] && break; sleep 0.2; done
[ "$(holder)" = 2 ] || die "the VIP did not move to m2 (the next priority) within 10 s: held by '$(holder)'"
api | grep -q '^k3s-api m[123]$' || die "VIP:16443 does not answer after the move"
echo "VIP moved from m1 to m2 in $(($(date +%s) - start)) s"

# 6. Re-runs change nothing; --reset gives each root back as it was (apart from the kept store and log).
install_node 4 >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "w1's re-run failed"; }
expect_output "nothing to do"
# What reset keeps or cannot give back as it was: the installer's store and log, and dpkg's and apt's own
# bookkeeping and logs, and what haproxy's postinst and postrm leave when they add and remove its user: an
# empty lock in /run and the "-" backups of passwd, group, shadow and gshadow (those files themselves are
# compared, and are as before; the packages are purged: dpkg's package list is checked by apt_node).
bookkeeping() {
    grep -v -e '^\./var/lib/platform-installer/' -e '^\./var/log/' -e '^\./var/lib/dpkg/' -e '^\./var/lib/apt/' \
        -e '^\./var/cache/' -e '^\./etc/ld\.so\.cache ' -e '^\./run/adduser ' -e '^\./etc/\(passwd\|group\|shadow\|gshadow\)- ' \
        -e '^\./var/lib/systemd/deb-systemd' "$@"
}
for i in 5 4 3 2 1; do
    n=${NAMES[$i]} r="$SCRATCH/${NAMES[$i]}"
    ip netns exec "${NODE_NS[$i]}" "$RUN" --reset --root "$r" --yes >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "$n: --reset failed"; }
    # What the test itself put there, as an operator would: the stand-in driver, and the token it copied
    # (the first master's, which the installer made, goes with the reset).
    [ "$n" = g1 ] && rm -r "$r/proc/driver"
    [ "$i" = 1 ] || rm "$r$TOKEN"
    tree_state "$r" | bookkeeping >"$SCRATCH/$n.after"
    bookkeeping "$SCRATCH/$n.before" >"$SCRATCH/$n.before.kept"
    diff "$SCRATCH/$n.before.kept" "$SCRATCH/$n.after" >"$SCRATCH/$n.diff" || { head -40 "$SCRATCH/$n.diff" >&2; die "$n: --reset left the root changed"; }
done
[ ! -e "$SCRATCH/m1$TOKEN" ] || die "reset left the token the first master made"
! ip -n "${NODE_NS[2]}" addr show eth0 | grep -q " $VIP/" || die "the VIP is still held after every master's reset"
echo "cluster_netns: ok"
