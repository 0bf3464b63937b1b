// SPDX-License-Identifier: Apache-2.0
// Human-edited inputs: manifests/profiles/<name>.yaml and manifests/components/<name>.yaml.
//
// profile:   name, version, description, platforms: [{os, release, arch}], components: [names],
//            roles: {<role>: {phases: [..], minima: {cpus, memory_gb, disk_gb}}}
// component: name, description, binaries: [{name, url, install?, mode?, roles?, arch?, extract?, sha256?, sha256_source?}],
//            files: [same, install required, mode 0644 by default],
//            debs: [name | {name, roles?, gpu?}] (roles: only nodes of those roles; gpu: only has_gpu nodes),
//            images: [reference | {ref, import?, airgap?, roles?}],
//            addons: [{name, manifest | chart, namespace?, values?, images?, sha256?, sha256_source?}]
//              (manifest/chart: an http(s):// or file:// URL pinned in binaries.lock, or a file under the
//              manifests folder such as addons/runtimeclass.yaml; values: such a file, a chart's values)
// A profile whose components request debs needs manifests/targets/<os>-<release>.yaml for each platform.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <common/bundle/bundle_index.hpp>
#include <common/oci/reference.hpp>

namespace common::manifest {

// A binary or file a component needs; pinned by URL in binaries.lock.
struct FileSpec {
    std::string name;
    std::string url;
    std::string install;
    unsigned mode = 0755;
    std::vector<std::string> roles;
    std::vector<std::string> arches;  // the dpkg architectures it is for (a bundle is built for one); empty: every one
    std::string extract;              // a member of the .tar.gz at url to install instead of the archive
    std::optional<digest::Digest> published_sha256; // checksum the upstream publishes, checked by `bundler lock`
    std::string published_source;                // where it is published (sha256_source)
    std::string where;                            // "file:line" for messages
};

// A container image a component needs; pinned by its reference as written in images.lock.
struct ImageSpec {
    std::string ref;                 // as written: "busybox:1.36"
    oci::Reference reference;        // normalised: docker.io/library/busybox:1.36
    bool import = false;             // imported into containerd on the node, not only served by its registry
    bool airgap = false;             // written into k3s's agent/images/ as an image archive
    std::vector<std::string> roles;  // empty: every role
    std::string where;               // "file:line" for messages
};

// A cluster addon: a manifest or a Helm chart the first master hands to k3s's auto-deploy folder.
struct AddonSpec {
    std::string name;                        // an RFC 1123 label (k3s names the AddOn after the file)
    bundle::AddonKind kind = bundle::AddonKind::manifest;
    std::optional<FileSpec> remote;          // a URL source, pinned in binaries.lock like a file
    std::string local_path;                  // or a file of the manifests folder ("addons/x.yaml")...
    std::string local_content;               // ...read when the manifests are loaded
    std::string target_namespace = "default"; // charts: HelmChart targetNamespace
    std::string values;                      // charts: the values file's text (valuesContent)
    std::optional<std::vector<std::string>> images; // the images it uses, when given (else read from it)
    std::string where;                       // "file:line" for messages

    std::string source() const { return remote ? remote->url : local_path; }
};

struct Component {
    std::string name;
    std::string description;
    std::vector<FileSpec> files;
    std::string path;
    std::vector<ImageSpec> images;
    std::vector<bundle::DebRequest> deb_requests; // debs: package names (their closure per target is pinned in
                                                  // debs.lock), with the nodes each is for
    std::vector<AddonSpec> addons;

    // Everything of the component pinned by URL in binaries.lock: its files, then its addons' URLs.
    std::vector<const FileSpec*> pinned_files() const;
};

// Whether the file goes into a bundle built for `arch`.
bool for_arch(const FileSpec& f, std::string_view arch);

struct Profile {
    std::string name;
    std::string version;
    std::string description;
    std::vector<bundle::Platform> platforms;
    std::vector<std::string> component_names;
    std::map<std::string, bundle::RolePlan> roles;
    std::string path;

    // The dpkg architectures of its platforms, in order, each once.
    std::vector<std::string> arches() const;
};

struct Manifests {
    Profile profile;
    std::vector<Component> components;

    // Every deb the components request, sorted, each once.
    std::vector<std::string> requested_debs() const;
    // The same with the nodes each is for, merged across components (a package any component wants on
    // every node is for every node; gpu only when every component asking says gpu). Empty when every
    // package is for every node (the bundle then says nothing).
    std::vector<bundle::DebRequest> deb_requests() const;
    // Every image the components name, once per reference as written (sorted by it); an image named by
    // several components is imported or written for k3s if any asks, for the union of their roles.
    std::vector<ImageSpec> requested_images() const;
};

// The manifests as a bundle for one architecture sees them: the profile's platforms of that arch only
// (invalid_argument when it has none, naming those it has).
Result<Manifests> for_arch(Manifests m, std::string_view arch);

// Loads <dir>/profiles/<name>.yaml and every component it names from <dir>/components/.
Result<Manifests> load_manifests(const std::filesystem::path& dir, const std::string& profile);

} // namespace common::manifest
