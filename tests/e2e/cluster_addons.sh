#!/usr/bin/env bash
# Addons, and SIGKILL in every phase of a master and a worker. k3s is STOOD IN (it cannot run here): the
# recording scripts of lib.sh (k3s_standins), served as the k3s component; everything else is real: the bundler reading
# the charts and manifests, the loopback registry the images come from, the Debian 12 roots (chroot).
# The repository's own nvidia component goes in (its RuntimeClass manifest and values file as they are),
# with two changes a test needs, said here: its chart URL serves a STAND-IN chart under the real name
# (so the published sha256, which is of NVIDIA's chart, is dropped from this copy), and its .debs are left
# out (NVIDIA's apt repository is issue 11's profiles; cluster_netns installs GPU packages for real).
# Checked:
#   - bundler build refuses an addon whose image the bundle does not carry, naming the addon, its line
#     and the image; no .run is written;
#   - the first master writes each addon into k3s's auto-deploy folder, exactly: the RuntimeClass as in
#     the repository, the device plugin as a HelmChart carrying the chart inline with the component's
#     values, a chart over 512 KiB served from server/static/charts; mode 0600; a re-run writes nothing;
#   - another master writes nothing and says the first master deploys them;
#   - a SIGKILL at the start of every phase and inside the long ones, on a master and on a worker, then a
#     re-run, ends in the state of an uninterrupted install;
#   - the cluster token is in no process's arguments or environment during an install (sampled from /proc
#     all along), in nothing the stand-ins recorded, no log, journal or output;
#   - --reset gives the first master's root back as it was (file-tree diff with modes and owners).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_images.sh"
need_root # chroot into the roots, network namespaces
TAR=$("$SRC/scripts/make-debian-root" bookworm 2>/dev/null) || skip "no debootstrap root (scripts/setup makes it)"

# --- Fixtures: the stand-in k3s, two charts, images in a loopback registry ---------------------------
F="$SCRATCH/srv"
mkdir -p "$F"
k3s_standins "$F"
# A STAND-IN for NVIDIA's device plugin chart, under its real name: its values name the image as NVIDIA's
# do (repository, and the tag left to the component's values).
C="$SCRATCH/charts"
mkdir -p "$C/nvidia-device-plugin/templates" "$C/big/templates" "$C/big/files" "$F/k8s-device-plugin/stable" "$F/charts"
printf 'apiVersion: v2\nname: nvidia-device-plugin\nversion: 0.20.0\nappVersion: 0.20.0\n' >"$C/nvidia-device-plugin/Chart.yaml"
printf 'image:\n  repository: nvcr.io/nvidia/k8s-device-plugin\n  tag: ""\nruntimeClassName: null\n' >"$C/nvidia-device-plugin/values.yaml"
cat >"$C/nvidia-device-plugin/templates/daemonset.yml" <<'YAML'
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: nvidia-device-plugin}
spec:
  template:
    spec:
      runtimeClassName: {{ .Values.runtimeClassName }}
      containers:
        - image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
YAML
tar -C "$C" -czf "$F/k8s-device-plugin/stable/nvidia-device-plugin-0.20.0.tgz" nvidia-device-plugin
# A chart too big to ride inside its HelmChart (700 KiB that gzip cannot shrink).
printf 'apiVersion: v2\nname: big\nversion: 1.0.0\nappVersion: "1.36"\n' >"$C/big/Chart.yaml"
printf 'image:\n  repository: docker.io/library/busybox\n' >"$C/big/values.yaml"
head -c 716800 /dev/urandom >"$C/big/files/data.bin"
tar -C "$C" -czf "$F/charts/big-1.0.0.tgz" big
start_http "$F"
images_build "$SCRATCH/layout"
images_start_registry anon
IMAGES_REPOS=(library/busybox:1.36 pitest/app-a:1)
images_push "$SCRATCH/layout" "$REG_ANON"
skopeo copy -q --preserve-digests --dest-tls-verify=false "oci:$SCRATCH/layout:busybox" \
    "docker://$REG_ANON/nvidia/k8s-device-plugin:v0.20.0" >/dev/null # STAND-IN image under NVIDIA's name

# --- The workdir: k3s, the repository's nvidia component, and extras ----------------------------------
W="$SCRATCH/work"
mkdir -p "$W/manifests/profiles" "$W/manifests/components" "$W/manifests/addons"
cp "$SRC/manifests/addons/nvidia-runtimeclass.yaml" "$SRC/manifests/addons/nvidia-device-plugin-values.yaml" "$W/manifests/addons/"
sed -e '/^debs:/,/^images:/{/^images:/!d}' -e '/^    sha256/d' "$SRC/manifests/components/nvidia.yaml" >"$W/manifests/components/nvidia.yaml"
grep -q 'nvidia-device-plugin-0.20.0.tgz' "$W/manifests/components/nvidia.yaml" && ! grep -q '^debs:' "$W/manifests/components/nvidia.yaml" ||
    die "the nvidia component copy is not what this test expects"
cat >"$W/manifests/profiles/gpu.yaml" <<'YAML'
name: gpu
version: 0.1.0
platforms: [{os: debian, release: "12", arch: amd64}]
components: [k3s, nvidia, extras]
roles:
  master: {phases: [preflight, store, binaries, k3s, addons], minima: {cpus: 1, memory_gb: 1, disk_gb: 1}}
  worker: {phases: [preflight, store, binaries, k3s, addons], minima: {cpus: 1, memory_gb: 1, disk_gb: 1}}
YAML
k3s_component "$W" http://k3s.invalid
cat >"$W/manifests/addons/hello.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: hello, namespace: default}
spec:
  containers:
    - {name: hello, image: docker.io/pitest/app-a:1}
YAML
extras() { # extras IMAGES...: the extras component listing these images
    {
        echo "name: extras"
        echo "images: [$(IFS=,; echo "$*")]"
        echo "addons:"
        echo "  - {name: hello, manifest: addons/hello.yaml}"
        echo "  - {name: big, chart: http://charts.invalid/charts/big-1.0.0.tgz, namespace: tools, values: addons/big-values.yaml}"
    } >"$W/manifests/components/extras.yaml"
}
printf 'image:\n  tag: "1.36"\n' >"$W/manifests/addons/big-values.yaml"
MIRRORS=(--mirror "k3s.invalid=http://127.0.0.1:$HTTP_PORT" --mirror "charts.invalid=http://127.0.0.1:$HTTP_PORT"
    --mirror "nvidia.github.io=http://127.0.0.1:$HTTP_PORT" --mirror "docker.io=http://$REG_ANON" --mirror "nvcr.io=http://$REG_ANON")
RUN="$SCRATCH/gpu.run"
build() {
    "$BUNDLER" lock --profile gpu --workdir "$W" --cache "$SCRATCH/cache" "${MIRRORS[@]}" >/dev/null &&
        "$BUNDLER" build --profile gpu --workdir "$W" --cache "$SCRATCH/cache" "${MIRRORS[@]}" --installer "$INSTALLER" --output "$RUN"
}

# 1. hello's image (pitest/app-a:1) is not in the bundle: the build says which addon, where, and what.
extras docker.io/library/busybox:1.36
expect_fail "a build whose addon names an image the bundle lacks" build
expect_output "components/extras.yaml:4: addon hello names image docker.io/pitest/app-a:1"
! grep -q "addon nvidia-device-plugin names" "$SCRATCH/out" || die "the device plugin's image is in the bundle, yet named"
[ ! -e "$RUN" ] || die "a refused build wrote $RUN"
extras docker.io/library/busybox:1.36 docker.io/pitest/app-a:1
build >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "build failed"; }
"$RUN" --info >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "--info failed"; }
expect_output "^addons: +4$"

# --- Nodes --------------------------------------------------------------------------------------------
cat >"$SCRATCH/cluster.yaml" <<'YAML'
cluster: {name: lab, vip: 10.77.0.100, interface: eth1}
nodes:
  - {name: m1, address: 10.77.0.11/24, role: master}
  - {name: m2, address: 10.77.0.12/24, role: master}
  - {name: m3, address: 10.77.0.13/24, role: master}
  - {name: w1, address: 10.77.0.21/24, role: worker}
YAML
node_root() { mkdir -p "$1" && tar -C "$1" -xf "$SRC/$TAR"; }
SKIPS=$NODE_SKIPS,address,registration,join-order,clock # folders, not machines (as in k3s_standin)
TOKEN=/etc/platform-installer/cluster-token
# The worker's k3s agent is Ready when its kubelet answers 127.0.0.1:10248/healthz: a STAND-IN server in
# a network namespace of this test's own, where every worker run happens.
ns=pi-addons-$$
ip netns add "$ns"
ns_gone() { ip netns del "$ns" 2>/dev/null || true; }
_HOOKS+=(ns_gone)
ip -n "$ns" link set lo up
mkdir -p "$SCRATCH/kubelet" && echo ok >"$SCRATCH/kubelet/healthz"
ip netns exec "$ns" python3 -m http.server 10248 --bind 127.0.0.1 --directory "$SCRATCH/kubelet" >/dev/null 2>&1 &
_PIDS+=($!)
for _ in $(seq 100); do ip netns exec "$ns" curl -sf -o /dev/null http://127.0.0.1:10248/healthz && break; sleep 0.1; done
node_install() { # node_install ROOT NODE [ARGS...]
    local r=$1 n=$2; shift 2
    ip netns exec "$ns" "$RUN" --config "$SCRATCH/cluster.yaml" --node "$n" --root "$r" --yes --skip-check "$SKIPS" "$@"
}

# 2. The first master, with every process's arguments and environment sampled from /proc all along.
M1="$SCRATCH/m1"
node_root "$M1"
tree_state "$M1" >"$SCRATCH/m1.before"
touch "$SCRATCH/sampling"
(while [ -e "$SCRATCH/sampling" ]; do
    { cat /proc/[0-9]*/cmdline /proc/[0-9]*/environ 2>/dev/null || true; } | tr '\0' '\n' | sort -u >>"$SCRATCH/proc.samples"
done) &
sampler=$!
node_install "$M1" m1 >"$SCRATCH/out" 2>&1 || { rm -f "$SCRATCH/sampling"; cat "$SCRATCH/out" >&2; die "first master install failed"; }
rm "$SCRATCH/sampling"
wait "$sampler"
cp "$SCRATCH/out" "$SCRATCH/m1.out"
tok=$(cat "$M1$TOKEN")
grep -qx -- "--node" "$SCRATCH/proc.samples" && grep -qx "$SCRATCH/cluster.yaml" "$SCRATCH/proc.samples" ||
    die "the /proc sampler never saw the installer's own arguments: it sampled nothing"
! grep -qF "$tok" "$SCRATCH/proc.samples" || die "the cluster token was in a process's arguments or environment"
! grep -rqF "$tok" "$SCRATCH/m1.out" "$M1/var/log" "$M1/var/lib/platform-installer" || die "the token was printed, logged or journaled"
D=/var/lib/rancher/k3s/server
for f in manifests/platform-nvidia-runtimeclass.yaml manifests/platform-nvidia-device-plugin.yaml manifests/platform-hello.yaml \
    manifests/platform-big.yaml; do
    [ "$(stat -c %a "$M1$D/$f")" = 600 ] || die "$D/$f is missing or not 0600"
done
cmp "$SRC/manifests/addons/nvidia-runtimeclass.yaml" "$M1$D/manifests/platform-nvidia-runtimeclass.yaml" ||
    die "the RuntimeClass manifest is not the repository's"
cmp "$W/manifests/addons/hello.yaml" "$M1$D/manifests/platform-hello.yaml" || die "the hello manifest was changed on the way"
P="$M1$D/manifests/platform-nvidia-device-plugin.yaml"
for want in 'kind: HelmChart' '  name: nvidia-device-plugin' '  namespace: kube-system' '  targetNamespace: kube-system' \
    '  createNamespace: true' '  valuesContent: |-' '    runtimeClassName: nvidia' '      tag: v0.20.0'; do
    grep -qxF "$want" "$P" || die "the device plugin's HelmChart lacks '$want'"
done
sed -n 's/^  chartContent: //p' "$P" | base64 -d | cmp - "$F/k8s-device-plugin/stable/nvidia-device-plugin-0.20.0.tgz" ||
    die "the device plugin's chartContent is not the chart"
B="$M1$D/manifests/platform-big.yaml"
big_sha=$(sha256sum "$F/charts/big-1.0.0.tgz" | cut -c1-12)
grep -qxF "  chart: https://%{KUBERNETES_API}%/static/charts/big-$big_sha.tgz" "$B" || die "the big chart is not served from static/charts"
! grep -q chartContent "$B" || die "the big chart was inlined"
cmp "$F/charts/big-1.0.0.tgz" "$M1$D/static/charts/big-$big_sha.tgz" || die "static/charts does not hold the big chart"
grep -qxF '  targetNamespace: tools' "$B" || die "the big chart's namespace"
# A re-run writes nothing.
before=$(find "$M1$D" -type f -printf '%p %T@\n' | sort)
node_install "$M1" m1 >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "re-run failed"; }
expect_output "nothing to do"
[ "$before" = "$(find "$M1$D" -type f -printf '%p %T@\n' | sort)" ] || die "a re-run rewrote addon files"

# 3. Another master: k3s joins, the addons are the first master's to deploy.
M2="$SCRATCH/m2"
node_root "$M2"
mkdir -p "$M2/etc/platform-installer" && install -m 0600 "$M1$TOKEN" "$M2$TOKEN"
node_install "$M2" m2 >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "second master install failed"; }
expect_output "addons: nothing to do on this node: the first master \(m1\) deploys the addons for the whole cluster"
[ ! -e "$M2$D/manifests" ] || die "a second master wrote addons"

# 4. SIGKILL at the start of every phase and inside the long ones, then a re-run: the same state as an
#    uninterrupted install. The token is the operator's copy on each root, so that roots compare equal.
state() { tree_state "$1" | grep -v -e ' ./var/log/k3s-standin/' -e '^./var/log/k3s-standin/'; }
reference() { # reference NODE: an uninterrupted install's state
    local r="$SCRATCH/ref-$1"
    node_root "$r"
    mkdir -p "$r/etc/platform-installer" && install -m 0600 "$M1$TOKEN" "$r$TOKEN"
    node_install "$r" "$1" >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "reference install of $1 failed"; }
    state "$r" >"$SCRATCH/ref-$1.state"
}
kill_then_resume() { # kill_then_resume NODE FAILPOINT
    local r="$SCRATCH/kill-$1-${2//[^a-z0-9]/_}" rc=0
    node_root "$r"
    mkdir -p "$r/etc/platform-installer" && install -m 0600 "$M1$TOKEN" "$r$TOKEN"
    PLATFORM_INSTALLER_FAILPOINT=$2 node_install "$r" "$1" >"$SCRATCH/out" 2>&1 || rc=$?
    [ "$rc" -eq 137 ] || { cat "$SCRATCH/out" >&2; die "$1 $2: want exit 137 (SIGKILL), got $rc"; }
    node_install "$r" "$1" >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "$1 $2: re-run after the kill failed"; }
    state "$r" >"$SCRATCH/kill.state"
    diff -u "$SCRATCH/ref-$1.state" "$SCRATCH/kill.state" || die "$1 $2: the re-run did not reach an uninterrupted install's state"
    rm -rf "$r"
}
reference m1
for fp in phase.started.preflight phase.started.store store.blob_committed@2 phase.started.binaries binaries.file_installed@1 \
    system.temp_written@2 phase.started.k3s k3s.installed phase.started.addons addons.written@1 addons.written@3; do
    kill_then_resume m1 "$fp"
done
reference w1
grep -qx INSTALL_K3S_EXEC=agent "$SCRATCH/ref-w1/var/log/k3s-standin/install.env" || die "the worker is not an agent"
for fp in phase.started.preflight phase.started.store phase.started.binaries phase.started.k3s k3s.installed; do
    kill_then_resume w1 "$fp"
done

# 5. --reset: the addon files go (k3s keeps what it applied; its uninstaller, run next, removes k3s),
#    and the root is as it was, apart from the kept store and log.
ip netns exec "$ns" "$RUN" --reset --root "$M1" --yes >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "--reset failed"; }
[ ! -e "$M1/var/lib/rancher" ] || die "--reset left /var/lib/rancher"
tree_state "$M1" | grep -v -e '^./var/lib/platform-installer/' -e '^./var/log/k3s-standin/' -e '^./var/log/k3s-uninstalled ' >"$SCRATCH/m1.after"
diff -u "$SCRATCH/m1.before" "$SCRATCH/m1.after" || die "--reset left the first master's root changed"
! grep -qF "$tok" "$SCRATCH/out" || die "--reset printed the token"
echo "cluster_addons: ok"
