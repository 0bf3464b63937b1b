#!/usr/bin/env bash
# The resolver's closure equals apt's own answer. Both read the same indexes: this machine's apt lists
# (after apt-get update), which `bundler resolve` fetches from a loopback mirror holding the InRelease
# files exactly as Debian signed them (checked against debian-archive-keyring) and the Packages they
# list, and which `apt-get install -s` reads directly. The dpkg status given to apt holds the base set
# our resolver computed (Essential and Priority: required with their closure), so both start from the
# same base; apt must find that status consistent (`apt-get check`), which checks the base set too.
source "$(dirname "$0")/lib.sh"
command -v apt-get >/dev/null || skip "needs apt-get"

M="$SCRATCH/mirror"
debian_lists_mirror "$M"
start_http "$M"
W="$SCRATCH/work"
A="$SCRATCH/apt"
debian_target "$W" "$A"
resolve() { "$BUNDLER" resolve --workdir "$W" --cache "$SCRATCH/cache" --target debian-12 "${MIRRORS[@]}" "$@"; }

# The base set, as a dpkg status file for apt.
resolve --base >"$SCRATCH/base"
apt_status "$SCRATCH/base" "$A/status" "$M"
apt-get check -q -o Dir::State::status="$A/status" -o Dir::State::Lists="$A/lists" -o Dir::Etc::SourceList="$A/sources.list" \
    -o Dir::Etc::SourceParts=/nonexistent -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= -o Debug::NoLocking=1 >/dev/null ||
    die "apt finds the base set inconsistent"

PACKAGES=(jq socat conntrack ipset nfs-common keepalived haproxy curl python3 wget git rsync openssh-client
    openssh-server iptables ebtables ethtool lvm2 open-iscsi htop vim tmux chrony sudo gnupg ca-certificates unzip
    zip xz-utils netcat-openbsd tcpdump strace lsof psmisc nftables cifs-utils bridge-utils ipvsadm bind9-dnsutils
    nvme-cli parted sysstat dnsmasq apparmor default-mta build-essential python3-pip nginx apache2 containerd runc)
same=0
for p in "${PACKAGES[@]}"; do
    apt_sim "$A" "$p" >"$SCRATCH/apt.$p"
    resolve "$p" | awk '{print $1, $2}' | sort >"$SCRATCH/ours.$p"
    [ -s "$SCRATCH/apt.$p" ] || die "$p: apt-get -s installed nothing (is $p in the lists?)"
    if ! cmp -s "$SCRATCH/apt.$p" "$SCRATCH/ours.$p"; then
        echo "$p: closures differ (< apt, > ours):" >&2
        diff "$SCRATCH/apt.$p" "$SCRATCH/ours.$p" >&2 || true
        die "closure of $p differs from apt's"
    fi
    same=$((same + 1))
done
# Several at once, as a profile requests them.
apt_sim "$A" jq socat conntrack ipset nfs-common keepalived haproxy curl >"$SCRATCH/apt.all"
resolve jq socat conntrack ipset nfs-common keepalived haproxy curl | awk '{print $1, $2}' | sort >"$SCRATCH/ours.all"
diff "$SCRATCH/apt.all" "$SCRATCH/ours.all" || die "the combined closure differs from apt's"

# A virtual package with several providers must be chosen from, as apt says.
expect_fail "a virtual package with several providers" resolve mail-transport-agent
expect_output "virtual package provided by"
echo "apt_closure: $same closures (and the combined one) equal apt-get install -s"
