#!/usr/bin/env bash
# Phase k3s, with k3s STOOD IN: k3s cannot run on this machine, so the bundle carries two recording
# scripts under the real names (a `k3s` that answers `k3s kubectl get node` as k3s does and records each
# call, and a `k3s-install.sh` that records the environment and arguments upstream's install.sh would get).
# Everything around them is real: the bundle, cluster.yaml, the binaries phase, the Debian 12 roots the
# scripts run in (chroot). Checked: the exact config.yaml, its mode, the token (made 0600 on the first
# master, never printed or logged), INSTALL_K3S_* for a first master, a joining master and a worker, the
# joining node's refusal without the token, a re-run that changes nothing, and a node that never becomes
# Ready timing out with a message that names the log to read and a support bundle (token redacted).
source "$(dirname "$0")/lib.sh"
need_root # chroot into the roots
TAR=$("$SRC/scripts/make-debian-root" bookworm 2>/dev/null) || skip "no debootstrap root (scripts/setup makes it)"

F="$SCRATCH/srv"
mkdir -p "$F"
k3s_standins "$F"
start_http "$F"
W="$SCRATCH/work"
mkdir -p "$W/manifests/profiles" "$W/manifests/components"
cat >"$W/manifests/profiles/k3s.yaml" <<'YAML'
name: k3s
version: 0.1.0
platforms: [{os: debian, release: "12", arch: amd64}]
components: [k3s]
roles:
  master: {phases: [preflight, store, binaries, k3s], minima: {cpus: 1, memory_gb: 1, disk_gb: 1}}
  worker: {phases: [preflight, store, binaries, k3s], minima: {cpus: 1, memory_gb: 1, disk_gb: 1}}
YAML
k3s_component "$W" http://k3s.invalid
"$BUNDLER" lock --profile k3s --workdir "$W" --cache "$SCRATCH/cache" --mirror "k3s.invalid=http://127.0.0.1:$HTTP_PORT" >/dev/null
RUN="$SCRATCH/k3s.run"
"$BUNDLER" build --profile k3s --workdir "$W" --cache "$SCRATCH/cache" --mirror "k3s.invalid=http://127.0.0.1:$HTTP_PORT" \
    --installer "$INSTALLER" --output "$RUN" >/dev/null
cat >"$SCRATCH/cluster.yaml" <<'YAML'
cluster:
  name: lab
  vip: 10.77.0.100
  interface: eth1
nodes:
  - {name: master1, address: 10.77.0.11/24, role: master}
  - {name: master2, address: 10.77.0.12/24, role: master}
  - {name: master3, address: 10.77.0.13/24, role: master}
  - {name: gpu1, address: 10.77.0.21/24, role: worker, has_gpu: true, labels: {train: "true"}}
YAML
node_root() { mkdir -p "$1" && tar -C "$1" -xf "$SRC/$TAR"; }
# The roots are folders, not machines: they hold no address of cluster.yaml and nothing answers at the
# VIP, so the cross-node checks that ask the network are skipped here (cluster_netns runs them for real).
SKIPS=$NODE_SKIPS,address,registration,join-order
node_install() { # node_install ROOT NODE [ARGS...]
    local r=$1 n=$2; shift 2
    "$RUN" --config "$SCRATCH/cluster.yaml" --node "$n" --root "$r" --yes --skip-check "$SKIPS" "$@"
}
TOKEN=/etc/platform-installer/cluster-token

# 1. The first master: the token made 0600 and never shown; config.yaml exactly; install.sh as a server.
M1="$SCRATCH/master1"
node_root "$M1"
node_install "$M1" master1 >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "first master install failed"; }
expect_output "made the cluster token $TOKEN"
expect_output "node master1 is Ready"
[ "$(stat -c %a "$M1$TOKEN")" = 600 ] || die "the token is not 0600"
grep -Eqx '[0-9a-f]{64}' "$M1$TOKEN" || die "the token is not 64 hex digits"
tok=$(cat "$M1$TOKEN")
! grep -rq "$tok" "$SCRATCH/out" "$M1/var/log/platform-installer.log" "$M1/var/lib/platform-installer" || die "the token was printed or logged"
[ "$(stat -c %a "$M1/etc/rancher/k3s/config.yaml")" = 600 ] || die "config.yaml is not 0600"
diff -u - "$M1/etc/rancher/k3s/config.yaml" <<YAML || die "the first master's config.yaml"
# Written by platform-installer from $SCRATCH/cluster.yaml (cluster lab, node master1).
cluster-init: true
token-file: "$TOKEN"
node-name: "master1"
node-ip: "10.77.0.11"
flannel-iface: "eth1"
tls-san:
  - "10.77.0.100"
  - "10.77.0.11"
node-label:
  - "cpu=true"
  - "org=public"
disable-default-registry-endpoint: true
YAML
diff -u - "$M1/var/log/k3s-standin/install.env" <<'ENV' || die "install.sh's environment on the first master"
INSTALL_K3S_EXEC=server
INSTALL_K3S_SKIP_DOWNLOAD=true
INSTALL_K3S_SKIP_SELINUX_RPM=true
ENV
cmp "$M1/var/log/k3s-standin/config.seen" "$M1/etc/rancher/k3s/config.yaml" || die "install.sh ran before config.yaml was written"
grep -qx 'k3s kubectl get node master1 -o jsonpath={.status.conditions\[?(@.type=="Ready")\].status}' "$M1/var/log/k3s-standin/calls" ||
    die "the phase did not ask k3s whether the node is Ready"
# A re-run changes nothing and runs no install.sh.
rm "$M1/var/log/k3s-standin/install.env"
node_install "$M1" master1 >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "re-run failed"; }
expect_output "nothing to do"
[ ! -e "$M1/var/log/k3s-standin/install.env" ] || die "the re-run ran install.sh again"

# 2. A joining master: refused until the operator copies the token, then a server joining through the VIP.
M2="$SCRATCH/master2"
node_root "$M2"
expect_fail "a joining master without the token" node_install "$M2" master2
expect_output "no cluster token at $TOKEN: copy it from the first master \(master1, 10\.77\.0\.11\) to this node, mode 0600"
[ ! -e "$M2/var/log/k3s-standin/install.env" ] || die "install.sh ran without a token"
mkdir -p "$M2/etc/platform-installer" && install -m 0600 "$M1$TOKEN" "$M2$TOKEN"
node_install "$M2" master2 >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "joining master install failed"; }
grep -qx 'server: "https://10.77.0.100:16443"' "$M2/etc/rancher/k3s/config.yaml" || die "the joining master does not join through the VIP"
! grep -q cluster-init "$M2/etc/rancher/k3s/config.yaml" || die "a joining master must not cluster-init"
grep -qx INSTALL_K3S_EXEC=server "$M2/var/log/k3s-standin/install.env" || die "the joining master is not a server"
cmp "$M1$TOKEN" "$M2$TOKEN" || die "the joining master's token changed"

# 3. A worker: an agent, GPU labels and the inventory's own, no tls-san. An agent waits for its kubelet's
#    health endpoint (127.0.0.1:10248), STOOD IN by a loopback server in a network namespace of its own;
#    without it, the worker times out naming the endpoint.
G="$SCRATCH/gpu1"
node_root "$G"
mkdir -p "$G/etc/platform-installer" && install -m 0600 "$M1$TOKEN" "$G$TOKEN"
ns=pi-k3s-$$
ip netns add "$ns"
ns_gone() { ip netns del "$ns" 2>/dev/null || true; }
_HOOKS+=(ns_gone)
ip -n "$ns" link set lo up
# A GPU node without a driver stops at preflight with the run-books' advice, before anything changes.
expect_fail "a GPU node without a driver" node_install "$G" gpu1
expect_output "gpu-driver: no NVIDIA driver .*install the NVIDIA driver first, as the run-books do \(seed 004: .nvidia-smi. must succeed"
[ ! -e "$G/usr/local/bin/k3s" ] && [ ! -e "$G/var/log/k3s-standin" ] || die "a GPU node without a driver was changed"
# A STAND-IN driver: the file the NVIDIA kernel module shows (the root has no /proc of its own).
mkdir -p "$G/proc/driver/nvidia"
echo "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 22:23:56 UTC 2024 (STAND-IN)" >"$G/proc/driver/nvidia/version"
expect_fail "a worker whose kubelet never answers" ip netns exec "$ns" "$RUN" --config "$SCRATCH/cluster.yaml" --node gpu1 --root "$G" --yes \
    --skip-check "$SKIPS" --k3s-ready-timeout 2
expect_output "node gpu1 is not Ready after 2 s .*journalctl -u k3s-agent.* \(its kubelet does not answer http://127.0.0.1:10248/healthz\)"
mkdir -p "$SCRATCH/kubelet" && echo ok >"$SCRATCH/kubelet/healthz"
ip netns exec "$ns" python3 -m http.server 10248 --bind 127.0.0.1 --directory "$SCRATCH/kubelet" >/dev/null 2>&1 &
_PIDS+=($!)
for _ in $(seq 100); do ip netns exec "$ns" curl -sf -o /dev/null http://127.0.0.1:10248/healthz && break; sleep 0.1; done
ip netns exec "$ns" "$RUN" --config "$SCRATCH/cluster.yaml" --node gpu1 --root "$G" --yes --skip-check "$SKIPS" >"$SCRATCH/out" 2>&1 ||
    { cat "$SCRATCH/out" >&2; die "worker install failed"; }
# install.sh ran in the timed-out run; with the kubelet answering, every phase is in place.
expect_output "nothing to do: role worker of k3s 0.1.0 is already installed"
grep -qx INSTALL_K3S_EXEC=agent "$G/var/log/k3s-standin/install.env" || die "the worker is not an agent"
grep -A3 '^node-label:' "$G/etc/rancher/k3s/config.yaml" | grep -qx '  - "gpu=true"' || die "the GPU worker lacks gpu=true"
grep -qx '  - "train=true"' "$G/etc/rancher/k3s/config.yaml" || die "the worker lacks its inventory label"
! grep -q tls-san "$G/etc/rancher/k3s/config.yaml" || die "an agent got tls-san"

# 4. A node that never becomes Ready: a clean timeout naming the log to read.
M3="$SCRATCH/master3"
node_root "$M3"
mkdir -p "$M3/etc/platform-installer" && install -m 0600 "$M1$TOKEN" "$M3$TOKEN"
touch "$M3/etc/k3s-standin-never-ready"
expect_fail "a node that never becomes Ready" node_install "$M3" master3 --k3s-ready-timeout 2
expect_output "node master3 is not Ready after 2 s \(--k3s-ready-timeout\): read k3s's log \(journalctl -u k3s"
#    ... and a support bundle: one 0600 tar with the log, journal, preflight, the configs written, the
#    node's facts, and the token redacted everywhere (k3s's log quoted it).
SUPPORT=$(sed -n 's/^support bundle .*: //p' "$SCRATCH/out")
[ -n "$SUPPORT" ] && [ -f "$SUPPORT" ] || die "no support bundle named after the failure"
case "$SUPPORT" in "$M3/var/lib/platform-installer/support/"*.tar) ;; *) die "support bundle in an unexpected place: $SUPPORT" ;; esac
[ "$(stat -c %a "$SUPPORT")" = 600 ] || die "the support bundle is not 0600"
tar -tf "$SUPPORT" | sort >"$SCRATCH/support.list"
for f in README.txt facts.json platform-installer.log journal.jsonl changes.jsonl preflight.json cluster.yaml \
    node/etc/rancher/k3s/config.yaml node/var/log/k3s.log node/etc/os-release; do
    grep -qx "$f" "$SCRATCH/support.list" || die "the support bundle lacks $f"
done
mkdir "$SCRATCH/support" && tar -C "$SCRATCH/support" -xf "$SUPPORT"
grep -q "node master3 is not Ready" "$SCRATCH/support/README.txt" || die "the support bundle does not say why"
grep -q '"node": "master3"' "$SCRATCH/support/facts.json" || die "facts.json does not name the node"
grep -q 'cannot join with token <redacted>' "$SCRATCH/support/node/var/log/k3s.log" || die "k3s's log is not in the bundle, redacted"
! grep -rq "$tok" "$SCRATCH/support" || die "the token is in the support bundle"

# 5. --reset runs the uninstaller install.sh left (it stops k3s and removes what install.sh made), then
#    undoes the phase's own files: the token, config.yaml, the binaries.
"$RUN" --reset --root "$M1" --yes >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "--reset of the first master failed"; }
[ "$(cat "$M1/var/log/k3s-uninstalled" 2>/dev/null)" = /usr/local/bin/k3s-uninstall.sh ] || die "--reset did not run k3s-uninstall.sh"
for f in "$TOKEN" /etc/rancher/k3s/config.yaml /usr/local/bin/k3s /usr/local/lib/platform-installer/k3s-install.sh /var/lib/k3s-standin; do
    [ ! -e "$M1$f" ] || die "--reset left $f"
done
"$RUN" --reset --root "$G" --yes >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "--reset of the worker failed"; }
[ "$(cat "$G/var/log/k3s-uninstalled" 2>/dev/null)" = /usr/local/bin/k3s-agent-uninstall.sh ] || die "--reset did not run k3s-agent-uninstall.sh"
echo "k3s_standin: ok"
