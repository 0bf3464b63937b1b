#!/usr/bin/env bash
# bundler build + verify + inspect, and the installer's read-only modes, on the demo profile served
# from loopback. Also: two builds give identical bytes; the payload is a plain tar.zst.
source "$(dirname "$0")/lib.sh"

W="$SCRATCH/work"
demo_workdir "$W"
"$BUNDLER" lock --check --profile demo --workdir "$W" >/dev/null

RUN="$SCRATCH/dist/platform-installer-demo.run"
build_demo "$W" "$RUN"
build_demo "$W" "$SCRATCH/again.run"
cmp "$RUN" "$SCRATCH/again.run" || die "two builds of the same inputs differ"
(cd "$(dirname "$RUN")" && sha256sum -c platform-installer-demo.run.sha256 >/dev/null) || die "sha256sum -c rejects the .sha256 file"
file "$RUN" | grep -q "statically linked" || die "the .run is not a statically linked ELF: $(file "$RUN")"

# A different SOURCE_DATE_EPOCH changes bundle.json and so the bytes.
SOURCE_DATE_EPOCH=1800000000 build_demo "$W" "$SCRATCH/later.run"
! cmp -s "$RUN" "$SCRATCH/later.run" || die "SOURCE_DATE_EPOCH is not honoured"

"$BUNDLER" verify "$RUN" >"$SCRATCH/out.txt"
grep -q "^ok: " "$SCRATCH/out.txt" || die "bundler verify did not say ok"
"$BUNDLER" verify --json "$RUN" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["ok"] and d["profile"]=="demo", d'
"$BUNDLER" inspect --json "$RUN" >"$SCRATCH/inspect.json"
python3 - "$SCRATCH/inspect.json" "$FIXTURES/tools/busybox" <<'PY'
import hashlib, json, sys
d = json.load(open(sys.argv[1]))
want = hashlib.sha256(open(sys.argv[2], "rb").read()).hexdigest()
files = {f["name"]: f for f in d["files"]}
assert files["busybox"]["digest"] == "sha256:" + want, files
assert files["busybox"]["install"] == "/usr/local/bin/busybox" and files["busybox"]["mode"] == "0755"
assert files["motd"]["roles"] == ["master"]
assert d["roles"]["master"]["phases"] == ["preflight", "store", "binaries"]
assert len(d["blobs"]) == 2 and d["created"] == 1700000000
PY

"$RUN" --check >"$SCRATCH/out" 2>&1; expect_output "^ok: demo 0.1.0"
"$RUN" --info >"$SCRATCH/out"; expect_output "profile: +demo 0.1.0"; expect_output "role: +master: preflight -> store -> binaries"
"$RUN" --list >"$SCRATCH/out"; expect_output "busybox +/usr/local/bin/busybox +0755"

# --extract: the payload's entries, each blob matching its name.
"$RUN" --extract "$SCRATCH/x" >/dev/null 2>&1
[ -f "$SCRATCH/x/bundle.json" ] || die "--extract wrote no bundle.json"
for b in "$SCRATCH"/x/blobs/sha256/*; do
    [ "$(sha256sum "$b" | cut -d' ' -f1)" = "$(basename "$b")" ] || die "extracted blob $b does not match its name"
done
expect_fail "--extract into a non-empty folder" "$RUN" --extract "$SCRATCH/x"
expect_output "not empty"

# The payload is a standard tar.zst that plain tools read, bundle.json first.
read -r off size < <(python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["trailer"]; print(t["payload_offset"], t["payload_size"])' "$SCRATCH/inspect.json")
tail -c +$((off + 1)) "$RUN" | head -c "$size" | zstd -dc | tar -t >"$SCRATCH/members"
[ "$(head -n1 "$SCRATCH/members")" = "bundle.json" ] || die "bundle.json is not the first payload member"
[ "$(grep -c '^blobs/sha256/' "$SCRATCH/members")" -eq 2 ] || die "want 2 blobs in the payload"

# The lock must match the manifests: a new, unpinned file makes lock --check and build refuse.
cat >>"$W/manifests/components/demo-tools.yaml" <<'YAML'
  - name: extra
    url: http://demo.invalid/tools/extra
    install: /etc/platform-demo/extra
YAML
expect_fail "lock --check with an unpinned file" "$BUNDLER" lock --check --profile demo --workdir "$W"
expect_output "http://demo.invalid/tools/extra is not pinned"
expect_fail "build with an unpinned file" "$BUNDLER" build --profile demo --workdir "$W" --cache "$SCRATCH/cache" \
    --installer "$INSTALLER" --output "$SCRATCH/unpinned.run"
expect_output "not pinned in binaries.lock"
[ ! -e "$SCRATCH/unpinned.run" ] || die "a refused build left an output file"
echo "build_verify: ok"
