#!/usr/bin/env bash
# The Packages index common/deb/packages_index writes (through tests/tools/apt_index_tool) against
# `apt-ftparchive packages` on the same .deb files, field by field: every stanza, every field, same order,
# same bytes. The files: the fixture .debs (scripts/setup) and .debs built here with dpkg-deb whose control
# files are unusual in ways apt keeps or rewrites (field names in any case, blanks before a colon, tabs,
# empty and multi-line values, unlisted fields, control.tar compressed with gzip, xz, zstd or not at all, one
# package in several versions). Then: the same index whatever the order of the arguments; Packages.gz and
# Packages.xz the same bytes twice and read back by apt itself (apt-helper cat-file); a file that is not a
# .deb refused, naming it.
source "$(dirname "$0")/lib.sh"
for tool in apt-ftparchive dpkg-deb python3 gzip xz; do command -v "$tool" >/dev/null || skip "needs $tool (scripts/setup installs it)"; done
TOOL="$BIN/apt_index_tool"
[ -x "$TOOL" ] || die "no $TOOL: build first"
FIX="$BIN/../fixtures/debs"
ls "$FIX"/*.deb >/dev/null 2>&1 || die "no fixture .deb files in $FIX: run scripts/setup"

R="$SCRATCH/repo"
mkdir -p "$R/pool"
cp "$FIX"/*.deb "$R/pool/"

# mkdeb NAME COMPRESSION CONTROL: a .deb built by dpkg-deb with this control file, into pool/NAME.deb.
mkdeb() {
    local d="$SCRATCH/build/$1"
    mkdir -p "$d/DEBIAN" "$d/usr/share/doc/$1"
    printf '%s' "$3" >"$d/DEBIAN/control"
    echo "$1" >"$d/usr/share/doc/$1/README"
    dpkg-deb -Z"$2" --root-owner-group -b "$d" "$R/pool/$1.deb" >/dev/null 2>"$SCRATCH/dpkg-deb.err" ||
        die "dpkg-deb could not build $1: $(cat "$SCRATCH/dpkg-deb.err")"
}
odd=$'package: odd-fields\nVersion: 1:2.0~rc1-1\nArchitecture: all\nMaintainer: \xc3\x9cn\xc3\xafcode Person <u@example.org>\n'
odd+=$'X-Custom-Field: yes\nDescription:   spaced summary  \n first line\n .\n  indented\nsection:   admin\nPriority:   extra\n'
odd+=$'Built-Using: foo (= 1)\nEssential: no\nProtected: yes\nRuby-Versions: all\nHomepage: https://example.org\n'
odd+=$'Depends: a,\n b (>= 1)\nPre-Depends:\tdpkg\nProvides: virt\nOriginal-Maintainer: O <o@example.org>\n'
for z in gzip xz zstd none; do mkdeb "odd-$z" "$z" "$odd"; done
base=$'Package: plain\nArchitecture: amd64\nMaintainer: M <m@example.org>\n'
mkdeb plain-empty-synopsis xz "$base"$'Version: 1.0\nDescription:\n body only\nDepends:\ta\n'
mkdeb plain-blank-before-colon xz "$base"$'Version: 1.0-1\nDescription: s\nDepends : a\n'
mkdeb plain-empty-and-trailing xz "$base"$'Version: 1.0-2\nDescription: s\nX-Empty:\nX-Trail: v   \n'
for v in 1.9 1.10 1:0.1 2.0~rc1 2.0; do
    mkdeb "multi-${v/:/%3a}" gzip $'Package: multi\nVersion: '"$v"$'\nArchitecture: amd64\nMaintainer: M <m@example.org>\nSection: misc\nDescription: one of many\n'
done
n=$(ls "$R"/pool/*.deb | wc -l)

# 1. Field by field against apt-ftparchive, matched by Filename.
(cd "$R" && apt-ftparchive packages pool >"$SCRATCH/apt.Packages" 2>"$SCRATCH/apt.err")
[ ! -s "$SCRATCH/apt.err" ] || die "apt-ftparchive complained: $(cat "$SCRATCH/apt.err")"
(cd "$R" && "$TOOL" --prefix pool/ pool/*.deb >"$SCRATCH/our.Packages")
python3 - "$SCRATCH/apt.Packages" "$SCRATCH/our.Packages" "$n" <<'PY'
import subprocess, sys

def stanzas(path):
    """Each stanza as its text and its fields: [name, value] in order, a value with its continuation lines."""
    text = open(path, "rb").read().decode("utf-8", "surrogateescape")
    assert text.endswith("\n\n") or not text, f"{path} does not end with a blank line"
    out = []
    for block in text[:-2].split("\n\n") if text else []:
        assert block and not block.startswith("\n"), f"{path}: more than one blank line between stanzas"
        fields = []
        for line in block.split("\n"):
            if line[:1] in (" ", "\t"):
                fields[-1][1] += "\n" + line
            else:
                name, colon, value = line.partition(":")
                assert colon, f"{path}: not a field: {line!r}"
                fields.append([name, value])
        out.append((block + "\n", fields))
    return out

apt, ours, want = stanzas(sys.argv[1]), stanzas(sys.argv[2]), int(sys.argv[3])
by_file = lambda ss: {dict(f)["Filename"].strip(): (t, f) for t, f in ss}
a, o = by_file(apt), by_file(ours)
assert len(apt) == len(a) == want and len(ours) == len(o) == want, (len(apt), len(ours), want)
assert set(a) == set(o), ("only apt-ftparchive:", sorted(set(a) - set(o)), "only ours:", sorted(set(o) - set(a)))
bad, fields = [], 0
for name in sorted(a):
    af, of = a[name][1], o[name][1]
    fields += len(af)
    if [n for n, _ in af] != [n for n, _ in of]:
        bad.append(f"{name}: field order\n  apt-ftparchive: {[n for n, _ in af]}\n  ours:           {[n for n, _ in of]}")
    for (an, av), (on, ov) in zip(af, of):
        if (an, av) != (on, ov):
            bad.append(f"{name}: {an}: apt-ftparchive {av!r}, ours {on}: {ov!r}")
if bad:
    sys.exit("FAILED: our Packages differs from apt-ftparchive's:\n" + "\n".join(bad[:40]))
# Same stanzas, byte for byte; ours in our order: Package, then dpkg's version order, then Filename.
assert all(a[f][0] == o[f][0] for f in a)
keys = [(dict(f)["Package"].strip(), dict(f)["Version"].strip(), dict(f)["Filename"].strip()) for _, f in ours]
for (p1, v1, f1), (p2, v2, f2) in zip(keys, keys[1:]):
    assert p1 <= p2, f"not sorted by Package: {p1} before {p2}"
    if p1 == p2 and v1 != v2:
        ok = subprocess.run(["dpkg", "--compare-versions", v1, "lt", v2]).returncode == 0
        assert ok, f"{p1}: version {v1} before {v2}"
    if p1 == p2 and v1 == v2:
        assert f1 < f2, f"{p1} {v1}: {f1} before {f2}"
print(f"apt_index: {len(ours)} stanzas, {fields} fields identical to apt-ftparchive's")
PY

# 2. The same bytes whatever order the files come in.
(cd "$R" && ls pool/*.deb | sort -r | xargs "$TOOL" --prefix pool/ >"$SCRATCH/our.reversed")
cmp "$SCRATCH/our.Packages" "$SCRATCH/our.reversed" || die "the index depends on the order of the files"

# 3. Packages.gz and Packages.xz: the same bytes on a second run, and apt reads them back.
(cd "$R" && "$TOOL" --prefix pool/ --out "$SCRATCH/idx1" pool/*.deb && "$TOOL" --prefix pool/ --out "$SCRATCH/idx2" pool/*.deb)
for f in Packages Packages.gz Packages.xz; do cmp "$SCRATCH/idx1/$f" "$SCRATCH/idx2/$f" || die "$f differs between two runs"; done
cmp "$SCRATCH/idx1/Packages" "$SCRATCH/our.Packages" || die "--out wrote another Packages"
gzip -dc "$SCRATCH/idx1/Packages.gz" | cmp - "$SCRATCH/our.Packages" || die "gzip -dc Packages.gz is not Packages"
xz -dc "$SCRATCH/idx1/Packages.xz" | cmp - "$SCRATCH/our.Packages" || die "xz -dc Packages.xz is not Packages"
if [ -x /usr/lib/apt/apt-helper ]; then
    for f in Packages.gz Packages.xz; do
        /usr/lib/apt/apt-helper cat-file "$SCRATCH/idx1/$f" | cmp - "$SCRATCH/our.Packages" || die "apt reads $f as something else"
    done
fi

# 4. A file that is not a .deb is refused, naming it.
echo "Package: not-a-deb" >"$SCRATCH/bogus.deb"
expect_fail "index a text file" "$TOOL" --prefix pool/ "$R/pool/plain-empty-synopsis.deb" "$SCRATCH/bogus.deb"
expect_output "^apt_index_tool: read control of $SCRATCH/bogus.deb: not a .deb"
echo "apt_index: identical to apt-ftparchive, deterministic, refused as expected"
