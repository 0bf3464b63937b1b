// SPDX-License-Identifier: Apache-2.0
// Human-edited inputs: manifests/profiles/<name>.yaml and manifests/components/<name>.yaml.
//
// profile:   name, version, description, platforms: [{os, release, arch}], components: [names],
//            roles: {<role>: {phases: [..], minima: {cpus, memory_gb, disk_gb}}}
// component: name, description, binaries: [{name, url, install?, mode?, roles?, sha256?, sha256_source?}],
//            files: [same, install required, mode 0644 by default], debs: [package names]
// A profile whose components request debs needs manifests/targets/<os>-<release>.yaml for each platform.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <common/bundle/bundle_index.hpp>

namespace common::manifest {

// A binary or file a component needs; pinned by URL in binaries.lock.
struct FileSpec {
    std::string name;
    std::string url;
    std::string install;
    unsigned mode = 0755;
    std::vector<std::string> roles;
    std::optional<digest::Digest> published_sha256; // checksum the upstream publishes, checked by `bundler lock`
    std::string published_source;                // where it is published (sha256_source)
    std::string where;                            // "file:line" for messages
};

struct Component {
    std::string name;
    std::string description;
    std::vector<FileSpec> files;
    std::vector<std::string> debs; // package names; their closure per target is pinned in debs.lock
    std::string path;
};

struct Profile {
    std::string name;
    std::string version;
    std::string description;
    std::vector<bundle::Platform> platforms;
    std::vector<std::string> component_names;
    std::map<std::string, bundle::RolePlan> roles;
    std::string path;
};

struct Manifests {
    Profile profile;
    std::vector<Component> components;

    // Every deb the components request, sorted, each once.
    std::vector<std::string> requested_debs() const;
};

// Loads <dir>/profiles/<name>.yaml and every component it names from <dir>/components/.
Result<Manifests> load_manifests(const std::filesystem::path& dir, const std::string& profile);

} // namespace common::manifest
