# The .deb fixture of the apt tests (source after lib.sh): a local repository of real .deb files
# (downloaded by scripts/setup with apt-get download), indexed with apt-ftparchive, its Release signed with
# a throwaway gpg key (index_repo, sign_repo UID, newkey UID OUT), and this machine's Debian lists as the
# base set, all served on one loopback port; a workdir W with target debian-12, component tools
# (debs: jq, socat) and profile debs whose master runs APT_PHASES (default "preflight, store"); lock and
# build functions with the MIRRORS that send every host to the loopback server.
APT_PHASES=${APT_PHASES:-preflight, store}
APT_DEBS=${APT_DEBS:-jq, socat}
for tool in apt-ftparchive gpg gpgv xz; do command -v "$tool" >/dev/null || skip "needs $tool (scripts/setup installs it)"; done
FIX="$BIN/../fixtures/debs"
ls "$FIX"/*.deb >/dev/null 2>&1 || die "no fixture .deb files in $FIX: run scripts/setup"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

# The repository: pool/ with the real .debs, dists/stable with Packages(.gz,.xz) and a Release.
R="$SCRATCH/srv/repo"
mkdir -p "$R/pool/main" "$R/dists/stable/main/binary-amd64"
cp "$FIX"/*.deb "$R/pool/main/"
index_repo() {
    (cd "$R" && apt-ftparchive packages pool >dists/stable/main/binary-amd64/Packages)
    rm -f "$R"/dists/stable/main/binary-amd64/Packages.{gz,xz}
    gzip -k -n "$R/dists/stable/main/binary-amd64/Packages"
    xz -k "$R/dists/stable/main/binary-amd64/Packages"
    apt-ftparchive -o APT::FTPArchive::Release::Suite=stable -o APT::FTPArchive::Release::Codename=stable \
        -o APT::FTPArchive::Release::Architectures=amd64 -o APT::FTPArchive::Release::Components=main \
        release "$R/dists/stable" >"$SCRATCH/Release"
    mv "$SCRATCH/Release" "$R/dists/stable/Release"
}
export GNUPGHOME="$SCRATCH/gnupg"
mkdir -m 700 "$GNUPGHOME"
trap 'gpgconf --kill gpg-agent 2>/dev/null || true' RETURN
newkey() { # newkey UID OUT: a throwaway signing key, exported to OUT
    gpg --batch -q --passphrase '' --quick-gen-key "$1" ed25519 sign never 2>/dev/null
    gpg --batch -q --export "$1" >"$2"
}
sign_repo() { # sign_repo UID
    rm -f "$R/dists/stable/InRelease" "$R/dists/stable/Release.gpg"
    gpg --batch -q --yes --pinentry-mode loopback --passphrase '' -u "$1" --clearsign -o "$R/dists/stable/InRelease" "$R/dists/stable/Release"
    gpg --batch -q --yes --pinentry-mode loopback --passphrase '' -u "$1" -abs -o "$R/dists/stable/Release.gpg" "$R/dists/stable/Release"
}
newkey "Test Repo <repo@test.invalid>" "$SCRATCH/repo-key.gpg"
newkey "Someone Else <else@test.invalid>" "$SCRATCH/other-key.gpg"
index_repo
sign_repo "repo@test.invalid"

# Debian's own signed indexes (this machine's lists) beside it, all served on one loopback port.
debian_lists_mirror "$SCRATCH/srv"
start_http "$SCRATCH/srv"
W="$SCRATCH/work"
mkdir -p "$W/manifests/targets" "$W/manifests/profiles" "$W/manifests/components"
{
    echo "name: debian-12"; echo "os: debian"; echo 'release: "12"'; echo "arch: amd64"; echo "sources:"
    echo "  - {url: http://repo.invalid/repo, suite: stable, components: [main], keyring: $SCRATCH/repo-key.gpg}"
    while read -r url suite; do
        [ -n "$url" ] && echo "  - {url: $url, suite: $suite, components: [main], keyring: $KEYRING, check_valid_until: false}"
    done <<<"$LIST_SOURCES"
} >"$W/manifests/targets/debian-12.yaml"
cat >"$W/manifests/profiles/debs.yaml" <<YAML
name: debs
version: 0.1.0
platforms: [{os: debian, release: "12", arch: amd64}]
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
    MIRRORS+=(--mirror "$host=http://127.0.0.1:$HTTP_PORT/$host")
done <<<"$LIST_SOURCES"
lock() { "$BUNDLER" lock --profile debs --workdir "$W" --cache "${CACHE:-$SCRATCH/cache}" "${MIRRORS[@]}" "$@"; }
build() { "$BUNDLER" build --profile debs --workdir "$W" --cache "${CACHE:-$SCRATCH/cache}" "${MIRRORS[@]}" --installer "$INSTALLER" "$@"; }

