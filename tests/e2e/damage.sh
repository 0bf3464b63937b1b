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

# check_refused NAME PATTERN RUN_CHECK: verify and (optionally) --check fail naming PATTERN; --role changes nothing.
check_refused() {
    local name=$1 pattern=$2 run_check=$3 bad="$SCRATCH/$1.run"
    expect_fail "bundler verify of $name" "$BUNDLER" verify "$bad"
    expect_output "$pattern"
    if [ "$run_check" = yes ]; then
        expect_fail "--check of $name" "$bad" --check
        expect_output "$pattern"
        local root="$SCRATCH/root-$name"
        expect_fail "--role of $name" "$bad" --role master --root "$root" --yes
        expect_output "$pattern"
        [ ! -e "$root" ] || die "$name: --role changed the root: $(find "$root" | head)"
    fi
}

declare -A offsets=(
    [installer-start]=100
    [installer-end]=$((inst - 1))
    [payload-start]=$inst
    [payload-middle]=$((inst + psize / 2))
    [payload-end]=$((tstart - 1))
)
for name in "${!offsets[@]}"; do
    cp "$GOOD" "$SCRATCH/$name.run"
    flip "$SCRATCH/$name.run" "${offsets[$name]}"
    case $name in
    installer-*) check_refused "$name" "installer part is damaged" no ;; # a damaged installer cannot be trusted to check itself
    *) check_refused "$name" "payload is damaged: its sha256 is sha256:[0-9a-f]{64}, the trailer records sha256:[0-9a-f]{64}" yes ;;
    esac
done

# Every trailer field: its own digest catches a flip anywhere in it.
for off in 0 9 20 40 60 90 120 145 160 200 250 283; do
    name="trailer-$off"
    cp "$GOOD" "$SCRATCH/$name.run"
    flip "$SCRATCH/$name.run" $((tstart + off))
    check_refused "$name" "trailer|truncated|not a platform installer" yes
done

# Truncated: by one byte, and cut inside the payload.
for cut in 1 $((psize / 2 + 288)); do
    name="truncated-$cut"
    head -c $((total - cut)) "$GOOD" >"$SCRATCH/$name.run"
    chmod +x "$SCRATCH/$name.run"
    check_refused "$name" "no bundle trailer at the end of the file \(truncated" yes
done

# Extended: bytes appended after the trailer.
cp "$GOOD" "$SCRATCH/extended.run"
printf 'x' >>"$SCRATCH/extended.run"
check_refused extended "no bundle trailer" yes

# The good file still passes (the damage above was to copies).
"$BUNDLER" verify "$GOOD" >/dev/null
"$GOOD" --check >/dev/null 2>&1
echo "damage: ok"
