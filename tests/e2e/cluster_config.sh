#!/usr/bin/env bash
# --config cluster.yaml on a node, before anything changes: the node finds itself (by --node, by the root's
# hostname, or by an address it holds: a network namespace that holds a master's address), takes its role
# from the inventory, and says which node of which cluster it is; a --role that disagrees, a node that is
# not in the file and a broken inventory (an even number of masters, a VIP outside the masters' subnet)
# are refused naming the file and line, with the root untouched.
source "$(dirname "$0")/lib.sh"
demo_workdir "$SCRATCH/work"
RUN="$SCRATCH/demo.run"
build_demo "$SCRATCH/work" "$RUN"
R="$SCRATCH/root"
make_root "$R"
cat >"$SCRATCH/cluster.yaml" <<'YAML'
cluster:
  name: lab
  vip: 10.77.0.100
nodes:
  - {name: master1, address: 10.77.0.11/24, role: master}
  - {name: master2, address: 10.77.0.12/24, role: master}
  - {name: master3, address: 10.77.0.13/24, role: master}
  - {name: gpu1, address: 10.77.0.21/24, role: worker, has_gpu: true}
YAML
before=$(find "$R" | sort)
untouched() { [ "$(find "$R" | sort)" = "$before" ] || die "$1 changed the root"; }

# 1. --node: the role comes from the file; the plan is for it.
"$RUN" --config "$SCRATCH/cluster.yaml" --node gpu1 --root "$R" --dry-run --skip-check "$NODE_SKIPS" >"$SCRATCH/out" 2>&1 ||
    { cat "$SCRATCH/out" >&2; die "--config --node gpu1 --dry-run failed"; }
expect_output "^cluster lab: this node is gpu1 \(worker, 10\.77\.0\.21, GPU\), registering through 10\.77\.0\.100$"
expect_output "^plan for role worker of demo"
untouched "--dry-run"

# 2. By the root's hostname.
echo master1 >"$R/etc/hostname"
"$RUN" --config "$SCRATCH/cluster.yaml" --root "$R" --dry-run --skip-check "$NODE_SKIPS" >"$SCRATCH/out" 2>&1 ||
    { cat "$SCRATCH/out" >&2; die "--config by hostname failed"; }
expect_output "this node is master1 \(master, 10\.77\.0\.11, the first master\)"
expect_output "^plan for role master of demo"
# A link is followed inside the root, as on the booted node (/names/m2 is the root's, not this machine's).
rm "$R/etc/hostname"
mkdir -p "$R/names" && echo master2 >"$R/names/m2" && ln -s /names/m2 "$R/etc/hostname"
"$RUN" --config "$SCRATCH/cluster.yaml" --root "$R" --dry-run --skip-check "$NODE_SKIPS" >"$SCRATCH/out" 2>&1 ||
    { cat "$SCRATCH/out" >&2; die "--config by a linked hostname failed"; }
expect_output "this node is master2 \(master, 10\.77\.0\.12\)"
rm -r "$R/etc/hostname" "$R/names"
before=$(find "$R" | sort)

# 3. By an address it holds: a network namespace with master3's address (needs root for the namespace).
if [ "$(id -u)" -eq 0 ]; then
    ns=pi-cfg-$$
    ip netns add "$ns"
    gone() { ip netns del "$ns" 2>/dev/null || true; }
    _HOOKS+=(gone)
    ip -n "$ns" link add lan0 type veth peer name lan1
    ip -n "$ns" addr add 10.77.0.13/24 dev lan0
    ip -n "$ns" link set lan0 up
    ip netns exec "$ns" "$RUN" --config "$SCRATCH/cluster.yaml" --root "$R" --dry-run --skip-check "$NODE_SKIPS" >"$SCRATCH/out" 2>&1 ||
        { cat "$SCRATCH/out" >&2; die "--config by address failed"; }
    expect_output "this node is master3 \(master, 10\.77\.0\.13\)"
    ip -n "$ns" addr del 10.77.0.13/24 dev lan0 # now it holds no node's address
    ip -n "$ns" link set lo up
    expect_fail "a node that is not in the file" ip netns exec "$ns" "$RUN" --config "$SCRATCH/cluster.yaml" --root "$R" --yes --skip-check "$NODE_SKIPS"
    expect_output "cluster.yaml: no node is named '' \(this machine's hostname\) or has one of its addresses \(127\.0\.0\.1.*\): add it, or say which node this is with --node NAME"
fi

# 4. Refused before any change: a --role that disagrees, an unknown --node, and broken files.
expect_fail "--role master on a worker" "$RUN" --config "$SCRATCH/cluster.yaml" --node gpu1 --role master --root "$R" --yes --skip-check "$NODE_SKIPS"
expect_output "--role master, but .*cluster.yaml line 8 makes node gpu1 a worker: fix one of the two"
expect_fail "an unknown --node" "$RUN" --config "$SCRATCH/cluster.yaml" --node gpu9 --root "$R" --yes --skip-check "$NODE_SKIPS"
expect_output "cluster.yaml: no node named 'gpu9' \(--node\)"
sed '/master3/d' "$SCRATCH/cluster.yaml" >"$SCRATCH/two.yaml"
expect_fail "two masters" "$RUN" --config "$SCRATCH/two.yaml" --node gpu1 --root "$R" --yes --skip-check "$NODE_SKIPS"
expect_output "two.yaml:5: field 'nodes': 2 masters: etcd needs a majority"
sed 's/vip: 10.77.0.100/vip: 10.78.0.100/' "$SCRATCH/cluster.yaml" >"$SCRATCH/vip.yaml"
expect_fail "a VIP outside the masters' subnet" "$RUN" --config "$SCRATCH/vip.yaml" --node gpu1 --root "$R" --yes --skip-check "$NODE_SKIPS"
expect_output "vip.yaml:3: field 'cluster.vip': 10.78.0.100 lies in no master's subnet"
untouched "the refused installs"
echo "cluster_config: ok"
