// SPDX-License-Identifier: Apache-2.0
// OCI image-spec v1.1 and Docker schema 2 manifests and indexes: what the bundler reads from registries
// and records, and what the installer serves again (the bytes are kept as they were served; these types
// only describe them). Docker schema 1 is refused.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <common/digest/sha256.hpp>

namespace common::oci {

namespace media {
inline constexpr std::string_view oci_index = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view oci_manifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view oci_config = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view oci_layer_gzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view docker_list = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view docker_manifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view docker_config = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view docker_layer_gzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view docker_schema1 = "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr std::string_view docker_schema1_signed = "application/vnd.docker.distribution.manifest.v1+prettyjws";
} // namespace media

// The Accept header of a manifest request: every kind we read, indexes first.
std::string manifest_accept();
bool is_index(std::string_view media_type);
bool is_manifest(std::string_view media_type);

// os/architecture[/variant], as in "linux/arm64/v8".
struct Platform {
    std::string os;
    std::string architecture;
    std::string variant;

    std::string str() const;
    // "linux/amd64", "linux/arm64/v8"; invalid_argument otherwise.
    static Result<Platform> parse(std::string_view text);
    // The image platform of a Debian architecture on Linux: amd64, arm64 (v8), armhf (arm/v7), ...
    static Platform from_dpkg_arch(std::string_view arch);
    // Whether an index entry of platform `have` serves `want`: os and architecture equal, and the variant
    // equal once normalised (arm64 with no variant is arm64/v8).
    bool serves(const Platform& want) const;
    auto operator<=>(const Platform&) const = default;
};

struct Descriptor {
    std::string media_type;
    digest::Digest digest;
    std::uint64_t size = 0;
    std::optional<Platform> platform; // index entries only
};

// A parsed manifest or index.
struct Manifest {
    std::string media_type;            // from the document's mediaType, else the Content-Type it came with
    std::vector<Descriptor> manifests; // an index's entries
    Descriptor config;                 // a manifest's config
    std::vector<Descriptor> layers;    // a manifest's layers

    bool index() const { return is_index(media_type); }
};

// Parses a manifest or index served with `content_type` (used when the document has no mediaType).
// unsupported for Docker schema 1 ("re-push the image with a current client"), corrupt for anything malformed.
Result<Manifest> parse_manifest(std::string_view json, std::string_view content_type);

// One platform of a locked image: its manifest and what that manifest names.
struct ImagePlatform {
    Platform platform;
    Descriptor manifest;
    Descriptor config;
    std::vector<Descriptor> layers;
};

// An image as images.lock pins it and bundle.json carries it. Every digest is one a registry served.
struct LockedImage {
    std::string ref;                     // as written in the component ("busybox:1.36")
    std::string name;                    // canonical repository: docker.io/library/busybox
    std::string tag;                     // the tag it was locked from (empty for digest-only references)
    Descriptor top;                      // what the reference resolved to: an index, or a manifest
    std::vector<ImagePlatform> platforms; // the profile's platforms, in its order
    bool import = false;                 // imported into containerd on the node (not only served)
    bool airgap = false;                 // written as an image archive into k3s's agent/images/
    std::vector<std::string> roles;      // empty: every role

    // Every blob of the image, once each: the top, and per platform its manifest, config and layers.
    std::vector<Descriptor> blobs() const;
    bool for_role(std::string_view role) const;
};

} // namespace common::oci
