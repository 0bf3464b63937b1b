#!/usr/bin/env bash
# Our Debian version ordering against dpkg's own (`dpkg --compare-versions` is the oracle), on 1,200
# pairs drawn from the real version strings of this machine's apt lists (after apt-get update): half
# random pairs, half neighbours in sorted order (the close calls: epochs, '~', revisions).
source "$(dirname "$0")/lib.sh"
command -v dpkg >/dev/null || skip "needs dpkg"
TOOL="$BIN/compare_versions"

versions="$SCRATCH/versions"
for pk in /var/lib/apt/lists/*_Packages*; do
    [ -e "$pk" ] || continue
    /usr/lib/apt/apt-helper cat-file "$pk" | sed -n 's/^Version: //p'
done | sort -u >"$versions"
[ "$(wc -l <"$versions")" -ge 1000 ] || skip "fewer than 1000 versions in the apt lists (run apt-get update)"

python3 - "$versions" >"$SCRATCH/pairs" <<'PY'
import random, sys
v = [l.strip() for l in open(sys.argv[1]) if l.strip()]
rng = random.Random(20261122)
pairs = [tuple(rng.sample(v, 2)) for _ in range(600)]
by_name = sorted(v)
starts = rng.sample(range(len(by_name) - 1), 590)
pairs += [(by_name[i], by_name[i + 1]) for i in starts]
pairs += [("1.0~rc1", "1.0"), ("1:0.4", "10.3"), ("1.0-1", "1.0"), ("2.0", "2.0-0"), ("1.2.3~~", "1.2.3~"),
          ("0:1", "1"), ("1.0a", "1.0+"), ("1.0.0", "1.0"), ("7.6p1-4", "7.6-0"), ("2:1.0", "10:0.1")]
for a, b in pairs:
    print(a, b)
PY
[ "$(wc -l <"$SCRATCH/pairs")" -ge 1000 ] || die "want at least 1000 pairs"

"$TOOL" <"$SCRATCH/pairs" >"$SCRATCH/ours"
while read -r a b; do
    dpkg --compare-versions "$a" gt "$b" 2>/dev/null && gt=1 || { [ $? -eq 1 ] && gt=0 || die "dpkg refuses the pair $a $b"; }
    if dpkg --compare-versions "$a" lt "$b" 2>/dev/null; then echo "<"
    elif [ "$gt" = 1 ]; then echo ">"
    else echo "="; fi
done <"$SCRATCH/pairs" >"$SCRATCH/dpkg"

if ! cmp -s "$SCRATCH/ours" "$SCRATCH/dpkg"; then
    paste -d' ' "$SCRATCH/pairs" "$SCRATCH/ours" "$SCRATCH/dpkg" | awk '$3 != $4 {print "differs: " $1 " vs " $2 ": ours " $3 ", dpkg " $4}' | head -20 >&2
    die "version ordering differs from dpkg"
fi
echo "deb_versions: $(wc -l <"$SCRATCH/pairs") pairs agree with dpkg --compare-versions"
