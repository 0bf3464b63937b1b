#!/usr/bin/env bash
# Ed25519 signatures (trailer flags bit 0): a signed build verifies and says by whom; with --signer (a
# fingerprint or a PEM key) an unsigned or re-signed bundle is refused before anything on the node
# changes; a changed signature, or a signature stripped from the trailer, is refused.
source "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || skip "needs openssl"

W="$SCRATCH/work"
demo_workdir "$W"
openssl genpkey -algorithm ed25519 -out "$SCRATCH/ours.pem" 2>/dev/null
openssl pkey -in "$SCRATCH/ours.pem" -pubout -out "$SCRATCH/ours.pub" 2>/dev/null
openssl genpkey -algorithm ed25519 -out "$SCRATCH/theirs.pem" 2>/dev/null
fpr=$(openssl pkey -in "$SCRATCH/ours.pem" -pubout -outform DER 2>/dev/null | tail -c 32 | sha256sum | cut -d' ' -f1)

SIGNED="$SCRATCH/signed.run"
"$BUNDLER" build --profile demo --workdir "$W" --cache "$SCRATCH/cache" --mirror "$MIRROR" --installer "$INSTALLER" \
    --output "$SIGNED" --sign-key "$SCRATCH/ours.pem" >/dev/null
cp "$SIGNED" "$SCRATCH/again.run"
"$BUNDLER" build --profile demo --workdir "$W" --cache "$SCRATCH/cache" --mirror "$MIRROR" --installer "$INSTALLER" \
    --output "$SCRATCH/again.run" --sign-key "$SCRATCH/ours.pem" >/dev/null
cmp "$SIGNED" "$SCRATCH/again.run" || die "two signed builds differ (Ed25519 signatures are deterministic)"

"$BUNDLER" verify --signer "sha256:$fpr" "$SIGNED" >"$SCRATCH/out"
expect_output "signed by sha256:$fpr"
"$BUNDLER" verify --signer "$SCRATCH/ours.pub" "$SIGNED" >/dev/null
"$SIGNED" --check --signer "sha256:$fpr" >"$SCRATCH/out" 2>&1
expect_output "signature by sha256:$fpr verified"
"$SIGNED" --info >"$SCRATCH/out"
expect_output "signed: +yes, by sha256:$fpr \(signature verified\)"
make_root "$SCRATCH/root"
"$SIGNED" --role master --root "$SCRATCH/root" --yes --skip-check "$NODE_SKIPS" --signer "$SCRATCH/ours.pub" >/dev/null 2>&1 || die "signed install failed"

# Re-signed by another key: every digest and the signature check, but it is not the trusted signer.
RESIGNED="$SCRATCH/resigned.run"
"$BUNDLER" build --profile demo --workdir "$W" --cache "$SCRATCH/cache" --mirror "$MIRROR" --installer "$INSTALLER" \
    --output "$RESIGNED" --sign-key "$SCRATCH/theirs.pem" >/dev/null
"$BUNDLER" verify "$RESIGNED" >/dev/null # its own signature is valid
expect_fail "bundler verify of a re-signed bundle" "$BUNDLER" verify --signer "sha256:$fpr" "$RESIGNED"
expect_output "signed by sha256:[0-9a-f]{64}, not by the trusted signer sha256:$fpr"
expect_fail "--role of a re-signed bundle" "$RESIGNED" --role master --root "$SCRATCH/root-resigned" --yes --signer "sha256:$fpr"
expect_output "not by the trusted signer"
[ ! -e "$SCRATCH/root-resigned" ] || die "a refused bundle changed the root"

# Unsigned, with a signer required.
UNSIGNED="$SCRATCH/unsigned.run"
build_demo "$W" "$UNSIGNED"
expect_fail "an unsigned bundle with --signer" "$UNSIGNED" --check --signer "sha256:$fpr"
expect_output "bundle is not signed, but sha256:$fpr is required"

# A flipped signature byte (trailer re-hashed so that only the signature is wrong): refused.
python3 - "$SIGNED" "$SCRATCH/badsig.run" <<'PY'
import hashlib, sys
b = bytearray(open(sys.argv[1], "rb").read())
t = len(b) - 288
b[t + 184] ^= 1                                            # signature byte
b[t + 248:t + 280] = hashlib.sha256(bytes(b[t:t + 248])).digest()
open(sys.argv[2], "wb").write(b)
PY
chmod +x "$SCRATCH/badsig.run"
expect_fail "bundler verify of a bad signature" "$BUNDLER" verify "$SCRATCH/badsig.run"
expect_output "signature by sha256:$fpr does not verify"
expect_fail "--check of a bad signature" "$SCRATCH/badsig.run" --check
expect_output "does not verify"

# The signature stripped (flags 0, fields zeroed, trailer re-hashed): bundle.json still names the signer.
python3 - "$SIGNED" "$SCRATCH/stripped.run" <<'PY'
import hashlib, sys
b = bytearray(open(sys.argv[1], "rb").read())
t = len(b) - 288
b[t + 144:t + 148] = bytes(4)
b[t + 152:t + 248] = bytes(96)
b[t + 248:t + 280] = hashlib.sha256(bytes(b[t:t + 248])).digest()
open(sys.argv[2], "wb").write(b)
PY
chmod +x "$SCRATCH/stripped.run"
expect_fail "--check of a stripped signature" "$SCRATCH/stripped.run" --check
expect_output "bundle.json names a signer but the trailer carries no signature"
echo "signing: ok"
