#!/usr/bin/env bash
# Hostile payload entries: '..', absolute paths, a symlink or hard link in place of a blob, a directory,
# a path outside the grammar, a pax path or ustar prefix that hides '..'. `--check`, `--extract DIR` and
# `--role` refuse each one naming the entry, and nothing is written outside DIR or the target root.
# The bundles are made by craft_bundle.py, an independent implementation of docs/bundle-format.md; a
# well-formed crafted bundle must pass first, so a refusal cannot come from a crafting mistake.
source "$(dirname "$0")/lib.sh"

command -v zstd >/dev/null || skip "needs the zstd command-line tool"
CRAFT=(python3 "$SRC/tests/e2e/craft_bundle.py" --installer "$INSTALLER")
SKIPS=$NODE_SKIPS # the 'root' check would refuse before the payload is read

# One file entry and its blob; the platform is the one make_root (lib.sh) writes.
BLOB="$SCRATCH/hello.txt"
echo "hello from a crafted bundle" >"$BLOB"
HEX=$(sha256sum "$BLOB" | cut -d' ' -f1)
SIZE=$(stat -c %s "$BLOB")
case $(uname -m) in x86_64) ARCH=amd64 ;; aarch64) ARCH=arm64 ;; *) ARCH=$(uname -m) ;; esac
INDEX="$SCRATCH/bundle.json"
cat >"$INDEX" <<EOF
{
  "blobs": [{"digest": "sha256:$HEX", "size": $SIZE}],
  "created": $SOURCE_DATE_EPOCH,
  "description": "crafted by tests/e2e/craft_bundle.py",
  "files": [{"component": "crafted", "digest": "sha256:$HEX", "install": "/opt/escape-test/hello", "mode": "0644",
             "name": "hello", "roles": [], "size": $SIZE, "url": "http://crafted.invalid/hello"}],
  "format": 1,
  "platforms": [{"arch": "$ARCH", "os": "debian", "release": "12"}],
  "profile": "escape-test",
  "roles": {"master": {"minima": {"cpus": 1, "disk_gb": 0.001, "memory_gb": 0.001},
                       "phases": ["preflight", "store", "binaries"]}},
  "version": "0.0.1"
}
EOF

# snapshot [EXCLUDED...]: every path under $SCRATCH (but the excluded trees and the captured output)
# with its type, size, link count and mtime; directories by name only.
snapshot() {
    local prune=() p
    for p in "$@"; do prune+=(-path "$p" -prune -o); done
    find "$SCRATCH" "${prune[@]}" -path "$SCRATCH/out" -prune -o \
        \( -type d -printf '%p d\n' -o -printf '%p %y %s %n %T@\n' \) | sort
}
same_or_die() { # same_or_die WHAT BEFORE AFTER
    [ "$2" = "$3" ] || die "$1 wrote outside its folder:"$'\n'"$(diff <(echo "$2") <(echo "$3") || true)"
}
regex_quote() { printf '%s' "$1" | sed 's/[][\.*^$?+(){}|]/\\&/g'; }

# --- Control: a well-formed crafted bundle passes every command (the crafter matches the format). ---
GOOD="$SCRATCH/good.run"
"${CRAFT[@]}" --index "$INDEX" --out "$GOOD" --blob "$BLOB"
"$GOOD" --check >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "--check of the well-formed crafted bundle"; }
expect_output "^ok: escape-test 0\.0\.1: installer, payload \(1 blobs\) and trailer digests match"
"$BUNDLER" verify "$GOOD" >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "bundler verify of the crafted bundle"; }
"$GOOD" --extract "$SCRATCH/good-extract" >"$SCRATCH/out" 2>&1 || { cat "$SCRATCH/out" >&2; die "--extract of the crafted bundle"; }
cmp "$INDEX" "$SCRATCH/good-extract/bundle.json"
cmp "$BLOB" "$SCRATCH/good-extract/blobs/sha256/$HEX"
[ "$(cd "$SCRATCH/good-extract" && find . -type f | sort | tr '\n' ' ')" = "./blobs/sha256/$HEX ./bundle.json " ] ||
    die "--extract wrote unexpected files: $(find "$SCRATCH/good-extract")"
make_root "$SCRATCH/good-root"
"$GOOD" --role master --root "$SCRATCH/good-root" --yes --skip-check "$SKIPS" >"$SCRATCH/out" 2>&1 ||
    { cat "$SCRATCH/out" >&2; die "--role of the crafted bundle"; }
cmp "$BLOB" "$SCRATCH/good-root/opt/escape-test/hello"

# The same bundle taken apart with standard tools, as docs/bundle-format.md shows.
T="$SCRATCH/apart"
mkdir -p "$T/x"
tail -c 288 "$GOOD" >"$T/trailer"
u64() { od -An -t u8 --endian=little -j "$1" -N 8 "$T/trailer" | tr -d ' '; }
hex32() { od -An -t x1 -j "$1" -N 32 "$T/trailer" | tr -d ' \n'; }
inst_size=$(u64 16) payload_size=$(u64 32)
[ "$(u64 24)" = "$inst_size" ] || die "payload_offset differs from installer_size"
[ $((inst_size + payload_size + 288)) -eq "$(stat -c %s "$GOOD")" ] || die "trailer sizes do not add up"
head -c "$inst_size" "$GOOD" >"$T/installer"
tail -c +$((inst_size + 1)) "$GOOD" | head -c "$payload_size" >"$T/payload.tar.zst"
cmp "$INSTALLER" "$T/installer"
[ "$(sha256sum <"$T/installer" | cut -d' ' -f1)" = "$(hex32 48)" ] || die "installer_sha256"
[ "$(sha256sum <"$T/payload.tar.zst" | cut -d' ' -f1)" = "$(hex32 80)" ] || die "payload_sha256"
[ "$(head -c 248 "$T/trailer" | sha256sum | cut -d' ' -f1)" = "$(hex32 248)" ] || die "trailer_sha256"
zstd -dc "$T/payload.tar.zst" | tar -xf - -C "$T/x"
[ "$(sha256sum <"$T/x/bundle.json" | cut -d' ' -f1)" = "$(hex32 112)" ] || die "bundle_json_sha256"
cmp "$BLOB" "$T/x/blobs/sha256/$HEX"

# --- Hostile variants. ---
# refuse NAME ENTRY REASON ESCAPES CRAFT_ARGS...: the crafted bundle holds bundle.json, the hostile
# member(s), then the genuine blob, so a reader that skipped the hostile entry would succeed. Each command
# must fail naming ENTRY (with REASON), leave everything outside its DIR / root unchanged (including the
# pre-existing $v/victim and /etc/passwd), and create none of ESCAPES (comma-separated paths).
refuse() {
    local name=$1 entry=$2 reason=$3 escapes=$4
    shift 4
    local v="$SCRATCH/v-$name"
    local run="$v/bundle.run" dir="$v/x/extract" root="$v/root"
    local pattern before passwd
    mkdir -p "$v/cwd" "$v/x"
    echo "victim" >"$v/victim"
    "${CRAFT[@]}" --index "$INDEX" --out "$run" "$@" --blob "$BLOB"
    pattern="payload entry '$(regex_quote "$entry")': .*$reason"
    passwd=$(sha256sum /etc/passwd)
    cd "$v/cwd" # a relative write would land here, inside the snapshot

    before=$(snapshot)
    expect_fail "$name: --check" "$run" --check
    expect_output "$pattern"
    same_or_die "$name: --check" "$before" "$(snapshot)"

    expect_fail "$name: --extract" "$run" --extract "$dir"
    expect_output "$pattern"
    same_or_die "$name: --extract" "$before" "$(snapshot "$dir")"
    # A refused extraction takes back what it wrote: DIR did not exist before, so it does not now.
    local extra
    [ ! -e "$dir" ] || die "$name: --extract left DIR behind: $(find "$dir")"

    make_root "$root"
    before=$(snapshot "$dir" "$root")
    expect_fail "$name: --role" "$run" --role master --root "$root" --yes --skip-check "$SKIPS"
    expect_output "$pattern"
    same_or_die "$name: --role" "$before" "$(snapshot "$dir" "$root")"
    [ ! -e "$root/opt/escape-test/hello" ] || die "$name: --role installed from a refused payload"
    extra=$(find "$root/var/lib/platform-installer/store" -mindepth 1 ! -type d 2>/dev/null || true)
    [ -z "$extra" ] || die "$name: --role left in the store: $extra"

    local e
    IFS=, read -ra e <<<"$escapes"
    for p in "${e[@]}"; do
        [ ! -e "$p" ] && [ ! -L "$p" ] || die "$name: $p was created"
    done
    [ "$(cat "$v/victim")" = victim ] && [ "$(stat -c %h "$v/victim")" -eq 1 ] || die "$name: the victim file was touched"
    [ "$(sha256sum /etc/passwd)" = "$passwd" ] || die "$name: /etc/passwd changed"
    cd "$SCRATCH"
    echo "ok: $name refused"
}

v="$SCRATCH/v-dotdot"
refuse dotdot "blobs/../../escape" "'\.\.' not allowed" "$v/x/escape,$v/escape,$v/root/var/lib/platform-installer/escape" \
    --file "blobs/../../escape=$BLOB"

v="$SCRATCH/v-absolute"
refuse absolute "$v/escape" "absolute path" "$v/escape" \
    --file "$v/escape=$BLOB"

v="$SCRATCH/v-symlink"
refuse symlink "blobs/sha256/$HEX" "symbolic link" "$v/escape" \
    --symlink "blobs/sha256/$HEX=$v/escape"

v="$SCRATCH/v-hardlink"
refuse hardlink "blobs/sha256/$HEX" "hard link" "$v/x/extract/blobs/sha256/$HEX" \
    --hardlink "blobs/sha256/$HEX=$v/victim"

v="$SCRATCH/v-directory"
refuse directory "$v/escape/" "directory" "$v/escape" \
    --dir "$v/escape"

v="$SCRATCH/v-foreign"
refuse foreign "etc/passwd" "not a bundle path" "$v/x/extract/etc,$v/root/etc/passwd,$v/cwd/etc" \
    --file "etc/passwd=$BLOB"

# The ustar name is a genuine blob path; the pax path that overrides it climbs out.
v="$SCRATCH/v-pax-path"
refuse pax-path "../escape" "'\.\.' not allowed" "$v/x/escape,$v/escape" \
    --pax "path=../escape" --blob "$BLOB"

# A long path split by ustar: the name field alone is a genuine blob path, the prefix field climbs out.
v="$SCRATCH/v-ustar-prefix"
long="../escape-$(printf 'p%.0s' $(seq 60))"
refuse ustar-prefix "$long/blobs/sha256/$HEX" "'\.\.' not allowed" "$v/x/${long#../}" \
    --tar ustar --file "$long/blobs/sha256/$HEX=$BLOB"

# A blob whose bytes do not match its name: refused by every mode before it is given its name.
EVIL="$SCRATCH/evil.txt"
echo "evil" >"$EVIL"
BAD="$SCRATCH/bad-content.run"
"${CRAFT[@]}" --index "$INDEX" --out "$BAD" --file "blobs/sha256/$HEX=$EVIL"
expect_fail "wrong blob content: --check" "$BAD" --check
expect_output "payload entry blobs/sha256/$HEX: size mismatch"
expect_fail "wrong blob content: --extract" "$BAD" --extract "$SCRATCH/bad-extract"
expect_output "payload entry blobs/sha256/$HEX: size mismatch"
[ ! -e "$SCRATCH/bad-extract" ] || die "--extract of a wrong blob left $(find "$SCRATCH/bad-extract")"
make_root "$SCRATCH/bad-root"
expect_fail "wrong blob content: --role" "$BAD" --role master --root "$SCRATCH/bad-root" --yes --skip-check "$SKIPS"
expect_output "payload entry blobs/sha256/$HEX: size mismatch"
[ -z "$(find "$SCRATCH/bad-root/var/lib/platform-installer/store" -type f 2>/dev/null)" ] || die "a wrong blob reached the store"
[ ! -e "$SCRATCH/bad-root/opt/escape-test/hello" ] || die "a wrong blob was installed"

# A "signed" flag without a signer or signature is refused, never shown as signed; an unknown flag too.
"${CRAFT[@]}" --index "$INDEX" --out "$SCRATCH/flagged.run" --blob "$BLOB" --flags 1
expect_fail "flags bit 0 set without a signature" "$SCRATCH/flagged.run" --check
expect_output "the trailer is signed but bundle.json names no signer"
expect_fail "flags bit 0 set: --info" "$SCRATCH/flagged.run" --info
expect_output "names no signer"
"${CRAFT[@]}" --index "$INDEX" --out "$SCRATCH/flag2.run" --blob "$BLOB" --flags 2
expect_fail "an unknown flag" "$SCRATCH/flag2.run" --check
expect_output "trailer flags 0x2 are not supported"

echo "payload_escape: all hostile entries refused, nothing written outside DIR or the root"
