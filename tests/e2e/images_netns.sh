#!/usr/bin/env bash
# Two nodes, master and worker, as network namespaces joined by veth pairs on a bridge. Each gets the
# same bundle: the master's registry listens on its address; the worker's hosts.toml and registries.yaml
# name its own registry first and the master's (--registry-peer) next. With the worker's registry
# stopped, the worker's containerd (a real one, in the worker's namespace) still pulls docker.io names:
# from the master. With the master's stopped too, the pull fails: the bytes came from the master.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_images.sh"
source "$(dirname "$0")/lib_node.sh"
need_root # namespaces, chrooted services, containerd

images_node_bundle
make_nodes "pi$$" 2
MASTER=${NODE_IP[1]} WORKER=${NODE_IP[2]}
M="$SCRATCH/master" N="$SCRATCH/worker"
service_root "$M"
service_root "$N"
start_containerd "$M" "${NODE_NS[1]}"
start_containerd "$N" "${NODE_NS[2]}"
WCTR=(ip netns exec "${NODE_NS[2]}" "${CTR[@]}") # the worker's ctr, which fetches from its namespace

ip netns exec "${NODE_NS[1]}" "$RUN" --role master --root "$M" --yes --skip-check "$NODE_SKIPS" \
    --registry-listen "$MASTER:5000" >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "master install failed"; }
expect_output "serving at http://$MASTER:5000/v2/"
ip netns exec "${NODE_NS[2]}" "$RUN" --role worker --root "$N" --yes --skip-check "$NODE_SKIPS" \
    --registry-listen "$WORKER:5000" --registry-peer "http://$MASTER:5000" >"$SCRATCH/out" 2>&1 ||
    { cat "$SCRATCH/out" >&2; die "worker install failed"; }
expect_output "serving at http://$WORKER:5000/v2/"

# The worker's mirror configuration: itself first, then the master.
hosts="$N/etc/containerd/certs.d/docker.io/hosts.toml"
mine=$(grep -n "$WORKER:5000" "$hosts" | head -n1 | cut -d: -f1)
peer=$(grep -n "$MASTER:5000" "$hosts" | head -n1 | cut -d: -f1)
[ -n "$mine" ] && [ -n "$peer" ] && [ "$mine" -lt "$peer" ] || { cat "$hosts" >&2; die "hosts.toml must name the worker's registry, then the master's"; }
python3 - "$N/etc/rancher/k3s/registries.yaml" "$WORKER" "$MASTER" <<'PY' || die "registries.yaml endpoints are wrong"
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
want = ["http://%s:5000" % sys.argv[2], "http://%s:5000" % sys.argv[3]]
for name in ("*", "docker.io"):
    got = doc["mirrors"][name]["endpoint"]
    if got != want: sys.exit("mirror %s: endpoints %s, want %s" % (name, got, want))
PY

# The worker's own registry stops; the master's still serves.
stop_services "$N"
for _ in $(seq 50); do ip netns exec "${NODE_NS[2]}" curl -s -o /dev/null "http://$WORKER:5000/v2/" || break; sleep 0.1; done
! ip netns exec "${NODE_NS[2]}" curl -s -o /dev/null "http://$WORKER:5000/v2/" || die "the worker's registry still answers"
ip netns exec "${NODE_NS[2]}" curl -sf -o /dev/null "http://$MASTER:5000/v2/" || die "the worker cannot reach the master's registry"

"${WCTR[@]}" images pull --hosts-dir "$N/etc/containerd/certs.d" docker.io/pitest/app-a:1 >"$SCRATCH/out" 2>&1 ||
    { cat "$SCRATCH/out" >&2; die "the worker could not pull docker.io/pitest/app-a:1 through the master"; }
got=$("${WCTR[@]}" images ls | awk '$1 == "docker.io/pitest/app-a:1" { print $3 }')
[ "$got" = "$(images_lock_get "$W" pitest/app-a:1 digest)" ] || die "the worker pulled app-a as '$got', images.lock pins another digest"
out=$("${WCTR[@]}" run --rm docker.io/pitest/app-a:1 "w$$" /bin/busybox cat /etc/app-a)
[ "$out" = "app a" ] || die "the worker's container printed '$out', want 'app a'"

# Control: with the master's registry stopped too, a pull the worker has not made yet fails.
stop_services "$M"
for _ in $(seq 50); do ip netns exec "${NODE_NS[2]}" curl -s -o /dev/null "http://$MASTER:5000/v2/" || break; sleep 0.1; done
if "${WCTR[@]}" images pull --hosts-dir "$N/etc/containerd/certs.d" docker.io/library/busybox:1.36 >"$SCRATCH/out" 2>&1; then
    die "the worker pulled busybox with both registries stopped: the test does not show where bytes come from"
fi
echo "images_netns: ok"
