#!/usr/bin/env bash
# A flipped byte anywhere, a truncated file, a damaged trailer: `bundler verify` and `--check` fail
# with a message naming what is wrong, and `--role` changes nothing under the root.
source "$(dirname "$0")/lib.sh"

W="$SCRATCH/work"
demo_workdir "$W"
GOOD="$SCRATCH/good.run"
build_demo "$W" "$GOOD"
read -r inst psize < <("$BUNDLER" inspect --json "$GOOD" | python3 -c 'import json,sys; t=json.load(sys.stdin)["trailer"]; print(t["installer_size"], t["payload_size"])')
total=$(stat -c %s "$GOOD")
tstart=$((inst + psize))

flip() { # flip FILE OFFSET
    python3 - "$1" "$2" <<'PY'
import sys
p, off = sys.argv[1], int(sys.argv[2])
with open(p, "r+b") as f:
    f.seek(off); b = f.read(1); f.seek(off); f.write(bytes([b[0] ^ 0x01]))
PY
}

# damaged NAME: a copy of the good file to damage, named neutrally (case-N.run) so that no pattern
# can match the file's own name in a message; sets BAD.
N=0
damaged() {
    N=$((N + 1))
    BAD="$SCRATCH/case-$N.run"
    cp "$GOOD" "$BAD"
}
# check_refused NAME PATTERN RUN_CHECK: verify and (optionally) --check fail on $BAD with a message
# matching PATTERN; --role changes nothing.
check_refused() {
    local name=$1 pattern=$2 run_check=$3
    expect_fail "bundler verify of $name" "$BUNDLER" verify "$BAD"
    expect_output "$pattern"
    if [ "$run_check" = yes ]; then
        expect_fail "--check of $name" "$BAD" --check
        expect_output "$pattern"
        local root="$SCRATCH/root-$N"
        expect_fail "--role of $name" "$BAD" --role master --root "$root" --yes
        expect_output "$pattern"
        [ ! -e "$root" ] || die "$name: --role changed the root: $(find "$root" | head)"
    fi
}

SHA='sha256:[0-9a-f]{64}'
NO_TRAILER='no bundle trailer at the end of the file \(truncated, or not a platform installer\)'
declare -A offsets=(
    [installer-start]=100
    [installer-end]=$((inst - 1))
    [payload-start]=$inst
    [payload-middle]=$((inst + psize / 2))
    [payload-end]=$((tstart - 1))
)
for name in "${!offsets[@]}"; do
    damaged "$name"
    flip "$BAD" "${offsets[$name]}"
    case $name in
    installer-*) check_refused "$name" "installer part is damaged: its sha256 is $SHA, the trailer records $SHA" no ;; # a damaged installer cannot be trusted to check itself
    *) check_refused "$name" "payload is damaged: its sha256 is $SHA, the trailer records $SHA" yes ;;
    esac
done

# Every trailer field: its own digest catches a flip anywhere in it; the magics and the version are
# compared before the digest, so they are reported as what they are.
for off in 0 9 20 40 60 90 120 145 160 200 250 283; do
    case $off in
    0 | 283) pattern=$NO_TRAILER ;;                                      # magic, end magic
    9) pattern="bundle format version 257 is not supported by this program \(it reads version 1\)" ;; # 1 ^ 0x100
    *) pattern="trailer is damaged: its sha256 is $SHA, the trailer records $SHA" ;;
    esac
    damaged "trailer byte $off"
    flip "$BAD" $((tstart + off))
    check_refused "trailer byte $off" "$pattern" yes
done

# Truncated: by one byte, and cut inside the payload.
for cut in 1 $((psize / 2 + 288)); do
    damaged "truncated by $cut bytes"
    head -c $((total - cut)) "$GOOD" >"$BAD"
    check_refused "truncated by $cut bytes" "$NO_TRAILER" yes
done

# Extended: bytes appended after the trailer.
damaged "extended by one byte"
printf 'x' >>"$BAD"
check_refused "extended by one byte" "$NO_TRAILER" yes

# The good file still passes (the damage above was to copies).
"$BUNDLER" verify "$GOOD" >/dev/null
"$GOOD" --check >/dev/null 2>&1
echo "damage: ok"
