# The .deb fixture of the apt tests (source after lib.sh): a local repository of real .deb files
# (downloaded by scripts/setup with apt-get download), indexed with apt-ftparchive, its Release signed with
# a throwaway gpg key (index_repo, sign_repo UID, newkey UID OUT), and this machine's Debian lists as the
# base set, all served on one loopback port; a workdir W with target debian-12, component tools
# (debs: jq, socat) and profile debs whose master runs APT_PHASES (default "preflight, store"); lock and
# build functions with the MIRRORS that send every host to the loopback server.
# BULLSEYE=1 adds a target debian-11 to the profile: the fixture repository's suite bullseye (the Debian 11
# .debs scripts/fixture-debs keeps in build/fixtures/bullseye/debs) and Debian 11's own signed lists.
APT_PHASES=${APT_PHASES:-preflight, store}
APT_DEBS=${APT_DEBS:-jq, socat}
for tool in apt-ftparchive gpg gpgv xz; do command -v "$tool" >/dev/null || skip "needs $tool (scripts/setup installs it)"; done
FIX="$BIN/../fixtures/debs"
ls "$FIX"/*.deb >/dev/null 2>&1 || die "no fixture .deb files in $FIX: run scripts/setup"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

# The repository: pool/ with the real .debs, dists/stable with Packages(.gz,.xz) and a Release.
R="$SCRATCH/srv/repo"
SUITES=(stable)
mkdir -p "$R/pool/main"
cp "$FIX"/*.deb "$R/pool/main/"
if [ "${BULLSEYE:-0}" = 1 ]; then
    FIX11="$BIN/../fixtures/bullseye"
    ls "$FIX11"/debs/*.deb "$FIX11"/lists/*_InRelease >/dev/null 2>&1 || die "no Debian 11 fixtures in $FIX11: run scripts/setup as root"
    SUITES+=(bullseye)
    mkdir -p "$R/pool/bullseye"
    cp "$FIX11"/debs/*.deb "$R/pool/bullseye/"
fi
index_repo() { # each suite indexes its own pool folder (stable: pool/main)
    local suite pool d
    for suite in "${SUITES[@]}"; do
        pool=pool/$suite; [ "$suite" = stable ] && pool=pool/main
        d="$R/dists/$suite/main/binary-amd64"
        mkdir -p "$d"
        (cd "$R" && apt-ftparchive packages "$pool" >"dists/$suite/main/binary-amd64/Packages")
        rm -f "$d"/Packages.{gz,xz}
        gzip -k -n "$d/Packages"
        xz -k "$d/Packages"
        apt-ftparchive -o APT::FTPArchive::Release::Suite="$suite" -o APT::FTPArchive::Release::Codename="$suite" \
            -o APT::FTPArchive::Release::Architectures=amd64 -o APT::FTPArchive::Release::Components=main \
            release "$R/dists/$suite" >"$SCRATCH/Release"
        mv "$SCRATCH/Release" "$R/dists/$suite/Release"
    done
}
export GNUPGHOME="$SCRATCH/gnupg"
mkdir -m 700 "$GNUPGHOME"
trap 'gpgconf --kill gpg-agent 2>/dev/null || true' RETURN
newkey() { # newkey UID OUT: a throwaway signing key, exported to OUT
    gpg --batch -q --passphrase '' --quick-gen-key "$1" ed25519 sign never 2>/dev/null
    gpg --batch -q --export "$1" >"$2"
}
sign_repo() { # sign_repo UID
    local suite d
    for suite in "${SUITES[@]}"; do
        d="$R/dists/$suite"
        rm -f "$d/InRelease" "$d/Release.gpg"
        gpg --batch -q --yes --pinentry-mode loopback --passphrase '' -u "$1" --clearsign -o "$d/InRelease" "$d/Release"
        gpg --batch -q --yes --pinentry-mode loopback --passphrase '' -u "$1" -abs -o "$d/Release.gpg" "$d/Release"
    done
}
newkey "Test Repo <repo@test.invalid>" "$SCRATCH/repo-key.gpg"
newkey "Someone Else <else@test.invalid>" "$SCRATCH/other-key.gpg"
index_repo
sign_repo "repo@test.invalid"

# Debian's own signed indexes (this machine's lists, and Debian 11's) beside it, all served on one
# loopback port.
debian_lists_mirror "$SCRATCH/srv"
if [ "${BULLSEYE:-0}" = 1 ]; then
    BOOKWORM_SOURCES=$LIST_SOURCES
    debian_lists_mirror "$SCRATCH/srv" "$FIX11/lists"
    BULLSEYE_SOURCES=$LIST_SOURCES
    LIST_SOURCES=$BOOKWORM_SOURCES$BULLSEYE_SOURCES
fi
start_http "$SCRATCH/srv"
W="$SCRATCH/work"
mkdir -p "$W/manifests/targets" "$W/manifests/profiles" "$W/manifests/components"
write_target() { # write_target NAME RELEASE FIXTURE_SUITE "url suite" LINES
    local url suite
    echo "name: $1"; echo "os: debian"; echo "release: \"$2\""; echo "arch: amd64"; echo "sources:"
    echo "  - {url: http://repo.invalid/repo, suite: $3, components: [main], keyring: $SCRATCH/repo-key.gpg}"
    while read -r url suite; do
        [ -z "$url" ] || echo "  - {url: $url, suite: $suite, components: [main], keyring: $KEYRING, check_valid_until: false}"
    done <<<"$4"
}
write_target debian-12 12 stable "${BOOKWORM_SOURCES:-$LIST_SOURCES}" >"$W/manifests/targets/debian-12.yaml"
PLATFORMS='{os: debian, release: "12", arch: amd64}'
if [ "${BULLSEYE:-0}" = 1 ]; then
    write_target debian-11 11 bullseye "$BULLSEYE_SOURCES" >"$W/manifests/targets/debian-11.yaml"
    PLATFORMS+=', {os: debian, release: "11", arch: amd64}'
fi
cat >"$W/manifests/profiles/debs.yaml" <<YAML
name: debs
version: 0.1.0
platforms: [$PLATFORMS]
components: [tools]
roles:
  master: {phases: [$APT_PHASES], minima: {cpus: 1, memory_gb: 1, disk_gb: 1}}
YAML
cat >"$W/manifests/components/tools.yaml" <<YAML
name: tools
debs: [$APT_DEBS]
YAML
MIRRORS=(--mirror "repo.invalid=http://127.0.0.1:$HTTP_PORT")
while read -r url suite; do
    [ -n "$url" ] || continue
    host=${url#http://}; host=${host%%/*}
    [[ " ${MIRRORS[*]} " == *" $host="* ]] || MIRRORS+=(--mirror "$host=http://127.0.0.1:$HTTP_PORT/$host")
done <<<"$LIST_SOURCES"
lock() { "$BUNDLER" lock --profile debs --workdir "$W" --cache "${CACHE:-$SCRATCH/cache}" "${MIRRORS[@]}" "$@"; }
build() { "$BUNDLER" build --profile debs --workdir "$W" --cache "${CACHE:-$SCRATCH/cache}" "${MIRRORS[@]}" --installer "$INSTALLER" "$@"; }

