# Helpers for tests of what the installer starts on a node (source after lib.sh): target roots that can
# run services chrooted, a real containerd per root, and network namespaces standing in for nodes.
# Everything they start is stopped by lib.sh's cleanup (_PIDS) or by node_cleanup (namespaces).

# service_root R: make_root, plus what a chrooted service of this machine's Debian packages needs
# inside the root: the C library and the dynamic loader (a node has them; an empty folder does not).
# Also the containerd client, so the installer's import phase finds `ctr` in the root as on a node.
service_root() {
    local r=$1 lib
    make_root "$r"
    for lib in /lib64/ld-linux-x86-64.so.2 /lib/x86_64-linux-gnu/libc.so.6; do
        mkdir -p "$r$(dirname "$lib")"
        cp -L "$lib" "$r$lib"
    done
    mkdir -p "$r/usr/bin" "$r/tmp"
    cp /usr/bin/ctr "$r/usr/bin/ctr"
}

# start_containerd R [NETNS]: a real containerd (Debian's) whose socket is the node's own,
# R/run/containerd/containerd.sock, keeping its content and snapshots under $SCRATCH; in namespace
# NETNS when given. Sets CTR (a ctr command line for it). Registry mirrors come from R's certs.d.
start_containerd() {
    local r=$1 ns=${2:-} d
    d=$(mktemp -d "$SCRATCH/containerd.XXXXXX")
    mkdir -p "$r/run/containerd"
    cat >"$d/config.toml" <<EOF
version = 2
root = "$d/root"
state = "$d/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$r/run/containerd/containerd.sock"
EOF
    if [ -n "$ns" ]; then
        # nsenter, not `ip netns exec`: that one mounts a fresh /sys, without the cgroup mount runc needs.
        nsenter --net="/run/netns/$ns" containerd --config "$d/config.toml" >"$d/log" 2>&1 &
    else
        containerd --config "$d/config.toml" >"$d/log" 2>&1 &
    fi
    _PIDS+=($!)
    CTR=(ctr --address "$r/run/containerd/containerd.sock" --namespace k8s.io)
    for _ in $(seq 100); do "${CTR[@]}" version >/dev/null 2>&1 && return 0; sleep 0.1; done
    die "containerd did not start: $(tail -5 "$d/log")"
}

# make_nodes PREFIX N: N network namespaces PREFIX-1..N joined by a bridge in namespace PREFIX-lan,
# addresses 10.77.<pid-based>.<i>/24 (set in NODE_IP[i]). node_cleanup removes them.
NODE_NS=()
NODE_IP=()
make_nodes() {
    local prefix=$1 n=$2 i net
    need_root
    net="10.77.$(($$ % 250)).0"
    ip netns add "$prefix-lan"
    _NETNS+=("$prefix-lan")
    ip -n "$prefix-lan" link add br0 type bridge
    ip -n "$prefix-lan" link set br0 up
    for i in $(seq "$n"); do
        ip netns add "$prefix-$i"
        _NETNS+=("$prefix-$i")
        ip link add "$prefix-$i-a" type veth peer name "$prefix-$i-b"
        ip link set "$prefix-$i-a" netns "$prefix-$i"
        ip link set "$prefix-$i-b" netns "$prefix-lan"
        ip -n "$prefix-lan" link set "$prefix-$i-b" master br0 up
        ip -n "$prefix-$i" link set lo up
        ip -n "$prefix-$i" link set "$prefix-$i-a" name eth0
        ip -n "$prefix-$i" addr add "${net%.0}.$i/24" dev eth0
        ip -n "$prefix-$i" link set eth0 up
        NODE_NS[$i]="$prefix-$i"
        NODE_IP[$i]="${net%.0}.$i"
    done
}
_NETNS=()
node_cleanup() {
    local ns
    for ns in "${_NETNS[@]}"; do ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true; done
    sleep 0.2
    for ns in "${_NETNS[@]}"; do ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true; ip netns del "$ns" 2>/dev/null || true; done
}

# stop_services R: stops what the installer started for root R (plain services with a pid file).
stop_services() {
    local f pid
    for f in "$1"/var/lib/platform-installer/services/*.pid; do
        [ -e "$f" ] || continue
        read -r pid _ <"$f"
        kill "$pid" 2>/dev/null || true
    done
}
# Every root under $SCRATCH gets its services stopped at exit, and the namespaces go.
_stop_all_services() {
    local f
    for f in "$SCRATCH"/*/var/lib/platform-installer/services "$SCRATCH"/*/*/var/lib/platform-installer/services; do
        [ -d "$f" ] && stop_services "${f%/var/lib/platform-installer/services}"
    done
    return 0
}
_HOOKS+=(_stop_all_services node_cleanup)
