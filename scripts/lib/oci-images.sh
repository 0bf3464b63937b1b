# Small OCI images of Debian's busybox-static, packed with umoci (rootless, no daemon, no network).
# Sourced by scripts/demo and the image tests (tests/e2e/lib_images.sh). Needs umoci and /bin/busybox.

# oci_busybox LAYOUT TAG ARCH SCRATCH [PAD_BYTES]: TAG in the OCI layout LAYOUT (made if absent) is one
# layer holding /bin/busybox and /bin/sh, plus PAD_BYTES of random data in /data.bin when given (bulk
# for transfer tests); config linux/ARCH, command /bin/sh. SCRATCH is a folder it may use and remove.
oci_busybox() {
    local lay=$1 tag=$2 arch=$3 b=$4/umoci-base pad=${5:-0}
    [ -e "$lay/index.json" ] || umoci init --layout "$lay"
    umoci new --image "$lay:$tag"
    umoci unpack --rootless --image "$lay:$tag" "$b" >/dev/null
    mkdir -p "$b/rootfs/bin"
    cp /bin/busybox "$b/rootfs/bin/busybox"
    ln -s busybox "$b/rootfs/bin/sh"
    [ "$pad" -eq 0 ] || head -c "$pad" /dev/urandom >"$b/rootfs/data.bin"
    umoci repack --image "$lay:$tag" "$b" >/dev/null
    rm -rf "$b"
    umoci config --image "$lay:$tag" --os linux --architecture "$arch" --config.cmd /bin/sh
}

# oci_add_file LAYOUT TAG SRC_TAG FILE CONTENT SCRATCH: TAG = SRC_TAG plus a layer holding FILE with the
# line CONTENT; SRC_TAG's layers are shared, not copied.
oci_add_file() {
    local lay=$1 tag=$2 src=$3 file=$4 content=$5 b=$6/umoci-bundle.$2
    umoci unpack --rootless --image "$lay:$src" "$b" >/dev/null
    mkdir -p "$b/rootfs/$(dirname "$file")"
    printf '%s\n' "$content" >"$b/rootfs/$file"
    umoci repack --image "$lay:$tag" "$b" >/dev/null
    rm -rf "$b"
}
