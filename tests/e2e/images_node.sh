#!/usr/bin/env bash
# Images on a node, with the real components: a bundle of the test images (locked and built from a
# loopback registry that is then stopped) installed into a root; the root's registry (Debian's CNCF
# Distribution binary, carried as a pinned binary, run chrooted) serves them under their original
# names from hard links to the store; skopeo inspects and copies them with the locked digests; a real
# containerd using the generated hosts.toml pulls docker.io names from it and runs busybox; the k3s
# airgap archive imports; the import phase put its image into containerd. A re-run changes nothing,
# a kill -9 in the registry phase converges on re-run, and --reset stops and removes it all.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_images.sh"
source "$(dirname "$0")/lib_node.sh"
need_root # chrooted services and containerd

images_node_bundle

R="$SCRATCH/node"
service_root "$R"
start_containerd "$R"
PORT=$(free_port)
install() { "$RUN" --role master --root "$1" --yes --skip-check "$NODE_SKIPS" --registry-listen "127.0.0.1:$2"; }
install "$R" "$PORT" >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "install with images failed"; }
expect_output "serving at http://127.0.0.1:$PORT/v2/"

# 1. The node's registry serves the locked digests under the original names.
for ref in busybox:1.36 pitest/app-a:1 pitest/app-b:1; do
    repo=${ref%:*}; [ "$repo" = busybox ] && repo=library/busybox
    want=$(images_lock_get "$W" "$ref" digest)
    got=$(skopeo inspect --raw --tls-verify=false "docker://127.0.0.1:$PORT/$repo:${ref##*:}" | sha256sum | cut -d' ' -f1)
    [ "sha256:$got" = "$want" ] || die "the node serves $ref as sha256:$got, images.lock pins $want"
done
skopeo copy -q --src-tls-verify=false "docker://127.0.0.1:$PORT/pitest/app-a:1" "oci:$SCRATCH/copied:app-a" >/dev/null
[ "$(images_digest "$SCRATCH/copied" app-a)" = "$(images_lock_get "$W" pitest/app-a:1 digest)" ] || die "skopeo copy through the node changed the digest"

# 2. Seeded, not copied: every registry blob is the store's file (same inode).
store="$R/var/lib/platform-installer/store/blobs/sha256"
n=0
for data in $(find "$R/var/lib/platform-installer/registry/docker/registry/v2/blobs" -name data); do
    hex=$(basename "$(dirname "$data")")
    [ "$(stat -c %i "$data")" = "$(stat -c %i "$store/$hex")" ] || die "registry blob $hex is not a hard link of the store's"
    n=$((n + 1))
done
[ "$n" -ge 7 ] || die "only $n blobs seeded"

# 3. A real containerd, pointed at the node's registry by the generated hosts.toml, pulls a docker.io
#    name (upstream is stopped and docker.io unreachable: the bytes can only come from the node) and runs it.
grep -q "127.0.0.1:$PORT" "$R/etc/containerd/certs.d/docker.io/hosts.toml" || die "hosts.toml does not name the node's registry"
"${CTR[@]}" images pull --hosts-dir "$R/etc/containerd/certs.d" docker.io/pitest/app-a:1 >/dev/null
out=$("${CTR[@]}" run --rm docker.io/pitest/app-a:1 "t$$" /bin/busybox cat /etc/app-a)
[ "$out" = "app a" ] || die "the container printed '$out', want 'app a'"
grep -q '"http://127.0.0.1:'"$PORT"'"' "$R/etc/rancher/k3s/registries.yaml" || die "registries.yaml does not name the node's registry"

# 4. The k3s airgap archive (busybox) imports under its original name; the import phase put app-b in.
archive="$R/var/lib/rancher/k3s/agent/images/docker.io_library_busybox_1.36.tar"
[ -f "$archive" ] || die "no airgap archive at $archive"
ctr --address "$R/run/containerd/containerd.sock" --namespace airgap-check images import "$archive" >/dev/null
ctr --address "$R/run/containerd/containerd.sock" --namespace airgap-check images ls -q | grep -qx docker.io/library/busybox:1.36 ||
    die "the airgap archive did not import as docker.io/library/busybox:1.36"
"${CTR[@]}" images ls -q | grep -qx docker.io/pitest/app-b:1 || die "the import phase did not put docker.io/pitest/app-b:1 into containerd"

# 4b. The name moved to other bytes (someone re-tagged it): the import phase is not done, and puts the
#     locked image back.
"${CTR[@]}" images tag --force docker.io/pitest/app-a:1 docker.io/pitest/app-b:1 >/dev/null
install "$R" "$PORT" >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "re-run after a re-tag failed"; }
expect_output "imported docker.io/pitest/app-b:1"
got=$("${CTR[@]}" images ls | awk '$1 == "docker.io/pitest/app-b:1" { print $3 }')
[ "$got" = "$(images_lock_get "$W" pitest/app-b:1 digest)" ] || die "after the re-run app-b points at $got, not the locked digest"

# 5. A re-run changes nothing.
tree_state "$R" >"$SCRATCH/first.state"
install "$R" "$PORT" >"$SCRATCH/out" 2>&1
expect_output "nothing to do"
tree_state "$R" >"$SCRATCH/again.state"
diff -u "$SCRATCH/first.state" "$SCRATCH/again.state" || die "a re-run changed the node"

# 6. kill -9 in the registry phase (tree seeded, nothing started): a re-run converges on the same node.
R2="$SCRATCH/node-killed"
service_root "$R2"
start_containerd "$R2"
PORT2=$(free_port)
rc=0
PLATFORM_INSTALLER_FAILPOINT="registry.seeded=kill" install "$R2" "$PORT2" >"$SCRATCH/out" 2>&1 || rc=$?
[ "$rc" -eq 137 ] || { cat "$SCRATCH/out" >&2; die "want the install killed (137), got $rc"; }
install "$R2" "$PORT2" >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "re-run after the kill failed"; }
expect_output "resuming: the previous run stopped during phase registry"
skopeo inspect --raw --tls-verify=false "docker://127.0.0.1:$PORT2/pitest/app-a:1" >/dev/null || die "the re-run registry does not serve"
(cd "$R" && find var/lib/platform-installer/registry etc -type f | sort) >"$SCRATCH/tree1"
(cd "$R2" && find var/lib/platform-installer/registry etc -type f | sort) >"$SCRATCH/tree2"
diff <(sed "s/$PORT2/PORT/" "$R2/etc/rancher/k3s/registries.yaml") <(sed "s/$PORT/PORT/" "$R/etc/rancher/k3s/registries.yaml") ||
    die "registries.yaml differs after the kill and re-run"
diff -u "$SCRATCH/tree1" "$SCRATCH/tree2" || die "the registry tree differs after the kill and re-run"

# 7. The address is taken: by another HTTP server (refused before starting ours), by a listener that
#    makes ours exit (reported at once, naming its log, which says why). Once free, a re-run finishes.
R3="$SCRATCH/node-busy"
service_root "$R3"
start_containerd "$R3"
mkdir -p "$SCRATCH/other-http"
start_http "$SCRATCH/other-http"
expect_fail "install where another HTTP server holds the address" install "$R3" "$HTTP_PORT"
expect_output "another program already answers at http://127.0.0.1:$HTTP_PORT/v2/: stop it, or give this node's registry another address with --registry-listen"
stop_last
PORT3=$(free_port)
python3 -c 'import socket, sys, time; s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); time.sleep(600)' "$PORT3" &
_PIDS+=($!)
for _ in $(seq 50); do python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])))' "$PORT3" 2>/dev/null && break; sleep 0.1; done
expect_fail "install where a listener holds the address" install "$R3" "$PORT3"
expect_output "the registry exited before it answered at http://127.0.0.1:$PORT3/v2/; its log: .*platform-registry.log"
grep -q "address already in use" "$R3/var/lib/platform-installer/services/platform-registry.log" || die "the registry's log does not say why it exited"
stop_last
install "$R3" "$PORT3" >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "the re-run with the address free failed"; }
expect_output "serving at http://127.0.0.1:$PORT3/v2/"

# 8. --reset stops the registry and removes what the install made.
"$RUN" --reset --root "$R" --yes >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "--reset failed"; }
! curl -s -o /dev/null "http://127.0.0.1:$PORT/v2/" || die "the registry still answers after --reset"
[ ! -e "$R/var/lib/platform-installer/registry" ] || die "--reset left the registry tree"
[ ! -e "$R/etc/containerd/certs.d" ] && [ ! -e "$R/etc/rancher" ] && [ ! -e "$R/etc/systemd" ] || die "--reset left mirror or unit files"
[ ! -e "$archive" ] || die "--reset left the airgap archive"
echo "images_node: ok"
