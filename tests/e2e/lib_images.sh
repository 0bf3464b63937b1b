# Helpers for tests that need container images and registries on loopback. Source after lib.sh:
#   source "$(dirname "$0")/lib.sh"; source "$(dirname "$0")/lib_images.sh"
# Everything is made at test time inside $SCRATCH: images from busybox-static packed with umoci, a
# CNCF Distribution registry (docker-registry) per auth mode, a token server and a fault proxy, both
# small Python programs written out of this file. Processes go into lib.sh's _PIDS (stopped on exit).
#
# Typical use:
#   images_build "$SCRATCH/layout"                 # OCI layout with the test images (see below)
#   images_start_registry anon                     # sets REG_ANON (127.0.0.1:PORT), REG_STORE
#   images_push "$SCRATCH/layout" "$REG_ANON"      # skopeo copy every test image into it
#   images_start_registry basic                    # same storage, htpasswd: sets REG_BASIC
#   images_workdir "$W" images-test                # manifests naming the images (docker.io names)
#   "$BUNDLER" lock --profile images-test --workdir "$W" --mirror "docker.io=http://$REG_ANON"

for _tool in docker-registry skopeo umoci htpasswd openssl; do
    command -v "$_tool" >/dev/null || skip "needs $_tool (scripts/setup installs it)"
done
[ -x /bin/busybox ] || skip "needs busybox-static (/bin/busybox)"

# The test images, pushed under these repositories (the docker.io names components use):
#   library/busybox:1.36   base: busybox-static as /bin/busybox and /bin/sh, and 4 MiB of random bytes
#                          (so that layers are big enough to measure), one layer
#   pitest/app-a:1         base's layer + a layer with /etc/app-a          (shares the base layer)
#   pitest/app-b:1         base's layer + a layer with /etc/app-b          (shares the base layer)
#   pitest/multi:1         an OCI index: linux/amd64 (app-a's manifest) and linux/arm64/v8 (the same
#                          layers under a config saying arm64: busybox bytes stay amd64, which is fine
#                          for a registry that never runs them)
source "$SRC/scripts/lib/oci-images.sh"
IMAGES_REPOS=("library/busybox:1.36" "pitest/app-a:1" "pitest/app-b:1" "pitest/multi:1")
IMAGES_PYTHON=/usr/bin/python3
[ -x "$IMAGES_PYTHON" ] || IMAGES_PYTHON=python3
"$IMAGES_PYTHON" -c 'import yaml' 2>/dev/null || skip "needs python3-yaml"

# wait_http URL LOG: waits (10 s at most) until URL answers any HTTP status; dies naming LOG otherwise.
wait_http() {
    http_up "$1" || die "$1 did not answer; log: $(cat "$2" 2>/dev/null)"
}

# images_build LAYOUT: writes an OCI image layout with the test images tagged busybox, app-a, app-b,
# multi-arm64 and multi (the index). umoci runs rootless, so this needs no root.
images_build() {
    local lay=$1
    oci_busybox "$lay" busybox amd64 "$SCRATCH" 4194304
    oci_add_file "$lay" app-a busybox /etc/app-a "app a" "$SCRATCH"
    oci_add_file "$lay" app-b busybox /etc/app-b "app b" "$SCRATCH"
    umoci config --image "$lay:app-a" --tag multi-arm64 --architecture arm64
    "$IMAGES_PYTHON" - "$lay" <<'PY'
import hashlib, json, os, sys
lay = sys.argv[1]
idx = json.load(open(os.path.join(lay, "index.json")))
by = {m["annotations"]["org.opencontainers.image.ref.name"]: m for m in idx["manifests"]}
def entry(tag, arch, variant=None):
    d = {k: by[tag][k] for k in ("mediaType", "digest", "size")}
    d["platform"] = {"architecture": arch, "os": "linux"}
    if variant: d["platform"]["variant"] = variant
    return d
index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
         "manifests": [entry("app-a", "amd64"), entry("multi-arm64", "arm64", "v8")]}
data = json.dumps(index, separators=(",", ":")).encode()
hexd = hashlib.sha256(data).hexdigest()
open(os.path.join(lay, "blobs", "sha256", hexd), "wb").write(data)
idx["manifests"].append({"mediaType": index["mediaType"], "digest": "sha256:" + hexd, "size": len(data),
                         "annotations": {"org.opencontainers.image.ref.name": "multi"}})
json.dump(idx, open(os.path.join(lay, "index.json"), "w"))
PY
}

# images_push LAYOUT HOST:PORT: copies the test images into the (anonymous) registry at HOST:PORT under
# IMAGES_REPOS, digests preserved (the index with every platform).
images_push() {
    local lay=$1 reg=$2 repo tag
    local -A src=([library/busybox]=busybox [pitest/app-a]=app-a [pitest/app-b]=app-b [pitest/multi]=multi)
    for ref in "${IMAGES_REPOS[@]}"; do
        repo=${ref%:*}; tag=${ref##*:}
        skopeo copy -q --all --preserve-digests --dest-tls-verify=false \
            "oci:$lay:${src[$repo]}" "docker://$reg/$repo:$tag" >/dev/null
    done
}

# images_digest LAYOUT TAG: the digest of the manifest (or index) TAG names in the layout.
images_digest() {
    "$IMAGES_PYTHON" -c 'import json,sys; i=json.load(open(sys.argv[1]+"/index.json"))
print([m["digest"] for m in i["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"]==sys.argv[2]][0])' "$1" "$2"
}

# images_start_registry MODE: starts docker-registry on a free loopback port over one shared storage
# folder (REG_STORE; the first registry creates it, later ones serve it read-only). MODE:
#   anon   no auth                                           -> REG_ANON=127.0.0.1:PORT
#   basic  htpasswd, user REG_USER, password REG_PASSWORD    -> REG_BASIC
#   token  bearer tokens from images_start_token_server (started here; same user and password)
#                                                            -> REG_TOKEN, TOKEN_PORT, TOKEN_LOG
# Each registry logs to $SCRATCH/registry-MODE.log.
REG_USER=pitest
REG_PASSWORD=s3cret-pw
images_start_registry() {
    local mode=$1 port dir="$SCRATCH/registry-$1" ro=false auth=""
    port=$(free_port)
    mkdir -p "$dir"
    if [ -z "${REG_STORE:-}" ]; then REG_STORE="$SCRATCH/registry-store"; mkdir -p "$REG_STORE"; else ro=true; fi
    case $mode in
    anon) ;;
    basic)
        htpasswd -Bbn "$REG_USER" "$REG_PASSWORD" >"$dir/htpasswd"
        auth="auth: {htpasswd: {realm: pitest, path: $dir/htpasswd}}" ;;
    token)
        images_start_token_server
        auth="auth: {token: {realm: 'http://127.0.0.1:$TOKEN_PORT/token', service: pitest-registry, issuer: pitest-token-server, rootcertbundle: $TOKEN_DIR/token.crt}}" ;;
    *) die "images_start_registry: unknown mode $mode" ;;
    esac
    cat >"$dir/config.yml" <<YAML
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage:
  filesystem: {rootdirectory: $REG_STORE}
  delete: {enabled: false}
  maintenance: {uploadpurging: {enabled: false}, readonly: {enabled: $ro}}
http: {addr: "127.0.0.1:$port", secret: pitest}
$auth
YAML
    docker-registry serve "$dir/config.yml" >"$SCRATCH/registry-$mode.log" 2>&1 &
    _PIDS+=($!)
    wait_http "http://127.0.0.1:$port/v2/" "$SCRATCH/registry-$mode.log"
    case $mode in
    anon) REG_ANON=127.0.0.1:$port ;;
    basic) REG_BASIC=127.0.0.1:$port ;;
    token) REG_TOKEN=127.0.0.1:$port ;;
    esac
}

# images_start_token_server: a bearer token server (Distribution's token auth) on a free loopback port:
# GET /token?service=S&scope=repository:NAME:pull answers {"token", "access_token", "expires_in",
# "issued_at"}: an RS256 JWT whose header's x5c carries a self-signed certificate (made here with
# openssl, in TOKEN_DIR/token.crt: the registry's rootcertbundle). Basic credentials REG_USER /
# REG_PASSWORD are checked when given (wrong ones: 401); without any, an anonymous token is issued
# (set TOKEN_ANONYMOUS=no to refuse anonymous requests). One line per request in TOKEN_LOG:
# "token user=<name or -> scope=<scope>".
images_start_token_server() {
    TOKEN_DIR="$SCRATCH/token"
    TOKEN_LOG="$SCRATCH/token.log"
    mkdir -p "$TOKEN_DIR"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TOKEN_DIR/token.key" -out "$TOKEN_DIR/token.crt" \
        -days 2 -subj "/CN=pitest-token-server" >/dev/null 2>&1
    cat >"$TOKEN_DIR/server.py" <<'PY'
import base64, binascii, json, os, subprocess, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse
key, crt, user, password, anonymous, log = sys.argv[1:7]
der = subprocess.run(["openssl", "x509", "-in", crt, "-outform", "DER"], check=True, capture_output=True).stdout
def b64url(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
def sign(data):
    return subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=data, check=True, capture_output=True).stdout
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def do_GET(self):
        u = urlparse(self.path)
        q = parse_qs(u.query)
        who = None
        h = self.headers.get("Authorization", "")
        if h.startswith("Basic "):
            try: name, _, pw = base64.b64decode(h[6:]).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError): name, pw = "", None
            if name != user or pw != password:
                open(log, "a").write("token user=%s denied\n" % name)
                return self.answer(401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]})
            who = name
        elif anonymous != "yes":
            return self.answer(401, {"errors": [{"code": "UNAUTHORIZED", "message": "credentials required"}]})
        access = []
        for s in q.get("scope", []):
            typ, rest = s.split(":", 1)
            name, _, actions = rest.rpartition(":")
            access.append({"type": typ, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}
        claims = {"iss": "pitest-token-server", "sub": who or "", "aud": q.get("service", [""])[0], "exp": now + 300,
                  "nbf": now - 10, "iat": now, "jti": b64url(os.urandom(12)), "access": access}
        signing = (b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())).encode()
        token = signing.decode() + "." + b64url(sign(signing))
        open(log, "a").write("token user=%s scope=%s\n" % (who or "-", " ".join(q.get("scope", []))))
        self.answer(200, {"token": token, "access_token": token, "expires_in": 300,
                          "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))})
srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
print("port", srv.server_address[1], flush=True)
srv.serve_forever()
PY
    : >"$TOKEN_LOG"
    "$IMAGES_PYTHON" -u "$TOKEN_DIR/server.py" "$TOKEN_DIR/token.key" "$TOKEN_DIR/token.crt" "$REG_USER" "$REG_PASSWORD" \
        "${TOKEN_ANONYMOUS:-yes}" "$TOKEN_LOG" >"$TOKEN_DIR/out" 2>&1 &
    _PIDS+=($!)
    TOKEN_PORT=""
    for _ in $(seq 100); do
        TOKEN_PORT=$(sed -n 's/^port \([0-9]*\)$/\1/p' "$TOKEN_DIR/out")
        [ -n "$TOKEN_PORT" ] && break
        sleep 0.1
    done
    [ -n "$TOKEN_PORT" ] || die "token server did not start: $(cat "$TOKEN_DIR/out")"
}

# images_start_proxy UPSTREAM [FAULT...]: an HTTP proxy on a free loopback port in front of the
# registry at UPSTREAM (host:port), passing requests and headers through, with faults for blob GETs
# (/v2/<name>/blobs/sha256:<hex>):
#   drop=DIGEST     the first GET of DIGEST sends the whole Content-Length but only half the bytes, then
#                   closes the connection (a dropped download)
#   429-once        the first blob GET answers 429 Too Many Requests with Retry-After: 1
#   corrupt=DIGEST  every GET of DIGEST has one byte in the middle flipped
#   ignore-range    Range headers are not passed on (the registry answers 200 with the whole blob)
#   redirect        blob GETs answer 307 to http://localhost:PORT/_blob/... (another host name), which
#                   the proxy serves from the registry with the credentials of the original request
#                   (as a pre-signed storage URL would)
# Sets PROXY (127.0.0.1:PORT) and PROXY_LOG, one line per request:
#   "GET /v2/... range=<Range or -> auth=<yes|no> status=<status> fault=<fault or ->".
images_start_proxy() {
    local upstream=$1; shift
    PROXY_LOG="$SCRATCH/proxy.$RANDOM.log"
    cat >"$SCRATCH/proxy.py" <<'PY'
import http.client, re, secrets, socket, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
upstream, log = sys.argv[1], sys.argv[2]
faults = dict((f.split("=", 1) + [""])[:2] for f in sys.argv[3:])
lock = threading.Lock()
state = {"dropped": set(), "429": False}
grants = {}
BLOB = re.compile(r"^/v2/.+/blobs/(sha256:[0-9a-f]{64})$")
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def record(self, status, fault, auth):
        with lock:
            open(log, "a").write("%s %s range=%s auth=%s status=%s fault=%s\n" % (
                self.command, self.path, self.headers.get("Range", "-"), "yes" if auth else "no", status, fault or "-"))
    def forward(self, path, headers):
        c = http.client.HTTPConnection(upstream, timeout=60)
        c.request(self.command, path, headers=headers)
        r = c.getresponse()
        body = r.read()
        c.close()
        return r.status, [(k, v) for k, v in r.getheaders() if k.lower() not in ("connection", "transfer-encoding", "content-length")], body
    def reply(self, status, headers, body, send_bytes=None):
        self.send_response(status)
        for k, v in headers: self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD": self.wfile.write(body if send_bytes is None else body[:send_bytes])
    def handle_one(self):
        auth = self.headers.get("Authorization")
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        if self.path.startswith("/_blob/"):
            gid, _, path = self.path[len("/_blob/"):].partition("/")
            headers.pop("Authorization", None)
            if grants.get(gid): headers["Authorization"] = grants[gid]
            status, hs, body = self.forward("/" + path, headers)
            self.record(status, "redirected", auth)
            return self.reply(status, hs, body)
        m = BLOB.match(self.path) if self.command == "GET" else None
        digest = m.group(1) if m else None
        if digest and "429-once" in faults:
            with lock: first = not state["429"]; state["429"] = True
            if first:
                self.record(429, "429", auth)
                return self.reply(429, [("Retry-After", "1"), ("Content-Type", "application/json")], b'{"errors":[{"code":"TOOMANYREQUESTS"}]}')
        if digest and "redirect" in faults:
            gid = secrets.token_hex(8)
            grants[gid] = auth
            self.record(307, "redirect", auth)
            return self.reply(307, [("Location", "http://localhost:%d/_blob/%s%s" % (self.server.server_address[1], gid, self.path))], b"")
        if "ignore-range" in faults: headers.pop("Range", None)
        status, hs, body = self.forward(self.path, headers)
        if digest and faults.get("corrupt") == digest and status in (200, 206) and body:
            body = bytearray(body); body[len(body) // 2] ^= 0xFF; body = bytes(body)
            self.record(status, "corrupt", auth)
            return self.reply(status, hs, body)
        if digest and faults.get("drop") == digest and status == 200 and "Range" not in self.headers:
            with lock: first = digest not in state["dropped"]; state["dropped"].add(digest)
            if first:
                self.record(status, "drop", auth)
                self.reply(status, hs, body, send_bytes=len(body) // 2)
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
        self.record(status, None, auth)
        self.reply(status, hs, body)
    do_GET = do_HEAD = handle_one
srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
print("port", srv.server_address[1], flush=True)
srv.serve_forever()
PY
    : >"$PROXY_LOG"
    "$IMAGES_PYTHON" -u "$SCRATCH/proxy.py" "$upstream" "$PROXY_LOG" "$@" >"$PROXY_LOG.out" 2>&1 &
    _PIDS+=($!)
    local port=""
    for _ in $(seq 100); do
        port=$(sed -n 's/^port \([0-9]*\)$/\1/p' "$PROXY_LOG.out")
        [ -n "$port" ] && break
        sleep 0.1
    done
    [ -n "$port" ] || die "fault proxy did not start: $(cat "$PROXY_LOG.out")"
    PROXY=127.0.0.1:$port
}

# stop_last: stops the process started last (a proxy or registry the test is done with).
stop_last() {
    local last=$((${#_PIDS[@]} - 1))
    kill "${_PIDS[$last]}" 2>/dev/null || true
    wait "${_PIDS[$last]}" 2>/dev/null || true
    unset "_PIDS[$last]"
}

# images_workdir W: a workdir with manifests naming the test images by docker.io names:
#   profile images-test   debian-12 amd64; components app (pitest/app-a, pitest/app-b) and base (busybox)
#   profile images-multi  debian-12 amd64 and arm64; component multi (pitest/multi:1)
# Phases are the preflight and store only, so the bundles need no other engineer's phases.
images_workdir() {
    local w=$1
    mkdir -p "$w/manifests/profiles" "$w/manifests/components"
    cat >"$w/manifests/profiles/images-test.yaml" <<'YAML'
name: images-test
version: 0.1.0
platforms:
  - {os: debian, release: "12", arch: amd64}
components: [base, app]
roles:
  master: {phases: [preflight, store]}
  worker: {phases: [preflight, store]}
YAML
    cat >"$w/manifests/profiles/images-multi.yaml" <<'YAML'
name: images-multi
version: 0.1.0
platforms:
  - {os: debian, release: "12", arch: amd64}
  - {os: debian, release: "12", arch: arm64}
components: [multi]
roles:
  master: {phases: [preflight, store]}
YAML
    cat >"$w/manifests/components/base.yaml" <<'YAML'
name: base
images:
  - busybox:1.36
YAML
    cat >"$w/manifests/components/app.yaml" <<'YAML'
name: app
images:
  - pitest/app-a:1
  - {ref: docker.io/pitest/app-b:1, import: true, roles: [master]}
YAML
    cat >"$w/manifests/components/multi.yaml" <<'YAML'
name: multi
images:
  - pitest/multi:1
YAML
}

# images_fixture: the usual start: the test images built into $SCRATCH/layout (LAYOUT), an anonymous
# registry (REG_ANON) holding them, and a workdir $SCRATCH/work (W) whose manifests name them.
images_fixture() {
    LAYOUT="$SCRATCH/layout"
    images_build "$LAYOUT"
    images_start_registry anon
    images_push "$LAYOUT" "$REG_ANON"
    W="$SCRATCH/work"
    images_workdir "$W"
}

# images_lock_get W REF KEY: a field of REF's entry in W/images.lock ("digest", "platforms" as one
# "platform manifest-digest" line each, ...).
images_lock_get() {
    "$IMAGES_PYTHON" - "$1/images.lock" "$2" "$3" <<'PY'
import sys, yaml
lock = yaml.safe_load(open(sys.argv[1]))
entry = [i for i in lock["images"] if i["ref"] == sys.argv[2]]
if not entry: sys.exit("%s: no entry for %s" % (sys.argv[1], sys.argv[2]))
v = entry[0][sys.argv[3]]
if sys.argv[3] == "platforms": print("\n".join("%s %s" % (p["platform"], p["manifest"]["digest"]) for p in v))
else: print(v)
PY
}

# images_node_bundle: images_fixture, then a bundle RUN ($SCRATCH/node.run) of profile images-node for
# roles master and worker: the registry binary (Debian's CNCF Distribution, served as a pinned file the
# way the real profiles pin upstream's release) and busybox:1.36 (k3s airgap archive), pitest/app-a:1,
# pitest/app-b:1 (imported into containerd). The upstream registry is stopped afterwards: from then on
# the nodes are alone.
images_node_bundle() {
    images_fixture
    local upstream=${_PIDS[-1]} # the anonymous registry images_fixture started last
    mkdir -p "$SCRATCH/files"
    cp /usr/bin/docker-registry "$SCRATCH/files/registry"
    start_http "$SCRATCH/files"
    cat >"$W/manifests/components/registry.yaml" <<'YAML'
name: registry
binaries:
  - {name: registry, url: http://files.invalid/registry, install: /usr/local/bin/registry}
YAML
    cat >"$W/manifests/components/node-images.yaml" <<'YAML'
name: node-images
images:
  - {ref: busybox:1.36, airgap: true}
  - pitest/app-a:1
  - {ref: pitest/app-b:1, import: true}
YAML
    cat >"$W/manifests/profiles/images-node.yaml" <<'YAML'
name: images-node
version: 0.1.0
platforms: [{os: debian, release: "12", arch: amd64}]
components: [registry, node-images]
roles:
  master: {phases: [preflight, store, binaries, registry, images, import], minima: {cpus: 1, memory_gb: 1, disk_gb: 1}}
  worker: {phases: [preflight, store, binaries, registry, images, import], minima: {cpus: 1, memory_gb: 1, disk_gb: 1}}
YAML
    local mirrors=(--mirror "docker.io=http://$REG_ANON" --mirror "files.invalid=http://127.0.0.1:$HTTP_PORT")
    "$BUNDLER" lock --profile images-node --workdir "$W" --cache "$SCRATCH/cache" "${mirrors[@]}" >/dev/null
    RUN="$SCRATCH/node.run"
    "$BUNDLER" build --profile images-node --workdir "$W" --cache "$SCRATCH/cache" "${mirrors[@]}" \
        --installer "$INSTALLER" --output "$RUN" >/dev/null
    kill "$upstream"
    wait "$upstream" 2>/dev/null || true
}
