# Debian mirrors on loopback from apt's own lists, shared by scripts/demo and the tests (tests/e2e/lib.sh
# sources this): the indexes exactly as Debian signed them, so `bundler lock` checks Debian's signatures.

# debian_mirror_from_lists DIR [LISTS]: this machine's apt lists (after apt-get update), or those in LISTS,
# laid out as Debian mirrors under DIR (InRelease exactly as Debian signed it, Packages decompressed),
# and a snapshot of the lists in DIR/lists for apt itself. Sets LIST_SOURCES: one "url suite" line per
# suite. Needs amd64 lists (returns 1 without).
debian_mirror_from_lists() {
    local dir=$1 lists=${2:-/var/lib/apt/lists}
    LISTS_SNAPSHOT="$dir/lists"
    mkdir -p "$dir/lists/partial"
    LIST_SOURCES=""
    local f base uri suite pk
    for f in "$lists"/*_dists_*_InRelease; do
        [ -e "$f" ] || continue
        base=$(basename "$f" _InRelease)                 # deb.debian.org_debian_dists_bookworm
        uri=${base%%_dists_*}; suite=${base#*_dists_}
        pk=$(ls "$lists/${base}_main_binary-amd64_Packages"* 2>/dev/null | head -n1)
        [ -n "$pk" ] || continue
        uri=${uri//_//}                                  # deb.debian.org/debian
        mkdir -p "$dir/$uri/dists/$suite/main/binary-amd64"
        cp "$f" "$dir/$uri/dists/$suite/InRelease"
        /usr/lib/apt/apt-helper cat-file "$pk" >"$dir/$uri/dists/$suite/main/binary-amd64/Packages"
        cp "$f" "$pk" "$dir/lists/"
        LIST_SOURCES+="http://$uri $suite"$'\n'
    done
    [ -n "$LIST_SOURCES" ] || { echo "no amd64 'main' apt lists in $lists (run apt-get update)" >&2; return 1; }
}
