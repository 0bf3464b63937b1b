// SPDX-License-Identifier: Apache-2.0
// bundle.json, the first payload entry: what the bundle holds and how each role installs it.
// Version rule: the field "format" equals the trailer's format_version; readers ignore unknown keys,
// so adding a key is not a new version, while changing or removing one is.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <common/oci/image_manifest.hpp>
#include <common/store/blob_store.hpp>

namespace common::bundle {

struct Platform {
    std::string os;      // os-release ID: ubuntu, debian
    std::string release; // os-release VERSION_ID: 22.04, 12
    std::string arch;    // dpkg architecture: amd64, arm64
};

// Per-role minima checked by preflight (seed 002: 2 CPU, 4 GB, 10 GB).
struct Minima {
    unsigned cpus = 2;
    double memory_gb = 4;
    double disk_gb = 10;
};

struct RolePlan {
    std::vector<std::string> phases;
    Minima minima;
};

// A pinned file installed on the node: a binary or any plain file.
struct FileEntry {
    std::string name;
    std::string component;
    std::string url;     // where the bundler fetched it (as pinned, before --mirror)
    std::string install; // absolute path on the node, e.g. /usr/local/bin/k3s
    unsigned mode = 0644;
    std::vector<std::string> roles; // empty = every role
    store::BlobRef blob;            // what is installed (the member, for an extracted file)
    std::string extract;            // the member of the .tar.gz at url it was taken from (empty: the download itself)

    bool for_role(std::string_view role) const;
};

// A pinned .deb of one target release (the apt phase serves these from the node's mirror).
struct DebEntry {
    std::string name;
    std::string version;
    std::string architecture;
    std::string filename; // the repository's pool path, kept for the node's mirror layout
    store::BlobRef blob;
};

// A package a component asks for, and the nodes it is for (the node's apt installs the closure of the
// requests that apply to it; a bundle without requests installs its whole closure everywhere).
struct DebRequest {
    std::string name;
    std::vector<std::string> roles; // empty: every role
    bool gpu = false;               // only nodes with has_gpu
    bool applies(std::string_view role, bool has_gpu) const;
};

// The apt repository indexes of one target, made by the bundler from its .debs (each a blob): the
// node's repository serves them as dists/platform/main/binary-<arch>/Packages{,.gz,.xz}.
struct AptIndex {
    std::string architecture; // the binary-<arch> they describe
    store::BlobRef packages;
    store::BlobRef packages_gz;
    store::BlobRef packages_xz;
};

// A cluster addon deployed by the first master through k3s's auto-deploy manifests
// (/var/lib/rancher/k3s/server/manifests): a plain manifest, or a Helm chart wrapped in a HelmChart.
enum class AddonKind { manifest, chart };

struct AddonEntry {
    std::string name;      // the AddOn's name: <name>.yaml in the manifests folder (an RFC 1123 label)
    std::string component;
    AddonKind kind = AddonKind::manifest;
    std::string source;           // the URL it was pinned from, or its file in the manifests folder
    std::string target_namespace; // charts: where the release goes (HelmChart targetNamespace)
    std::string values;           // charts: valuesContent (may be empty)
    store::BlobRef blob;          // the manifest, or the chart's .tgz
};

std::string_view to_string(AddonKind kind);

// An addon name: its AddOn in k3s is platform-<name>, an RFC 1123 label (a-z, 0-9, '-', alphanumeric
// ends, 63 at most with the prefix: 54 for the name).
bool valid_addon_name(std::string_view name);

struct BundleIndex {
    std::string profile;
    std::string version;
    std::string description;
    std::int64_t created = 0; // SOURCE_DATE_EPOCH of the build
    std::vector<Platform> platforms;
    std::map<std::string, RolePlan> roles;
    std::vector<FileEntry> files;
    std::map<std::string, std::vector<DebEntry>> debs; // target name ("debian-12") -> its .deb closure
    std::map<std::string, AptIndex> apt_indexes;        // target name -> the Packages of its closure
    std::vector<DebRequest> deb_requests; // empty: every package of the closure is for every node
    std::vector<oci::LockedImage> images; // each image's index/manifests, configs and layers are blobs too
    std::vector<AddonEntry> addons;       // in the order the profile's components list them
    std::vector<store::BlobRef> blobs; // every payload blob, sorted by digest, each once
    std::optional<std::array<std::uint8_t, 32>> signer_public_key; // raw Ed25519 key of a signed bundle

    // Canonical JSON (sorted keys, no insignificant whitespace variance): the same index gives the same bytes.
    std::string to_json() const;
    // Parses and validates (paths, modes, every file's blob listed); corrupt with the field otherwise.
    static Result<BundleIndex> parse(std::string_view json);

    std::uint64_t total_blob_bytes() const;
    const RolePlan* role(std::string_view name) const;
};

// A file mode written as 3 or 4 octal digits ("0755", "644"); nullopt for anything else.
std::optional<unsigned> parse_mode(std::string_view text);

// An install path is absolute, normalized and has no "..": "/usr/local/bin/k3s".
Result<void> check_install_path(std::string_view path);

} // namespace common::bundle
