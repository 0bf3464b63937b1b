// SPDX-License-Identifier: Apache-2.0
// manifests/targets/<name>.yaml: one OS release and architecture that .deb closures are pinned for.
//
//   name: debian-12            # <os>-<release>, or <os>-<release>-<arch> when arch is not amd64
//   os: debian
//   release: "12"
//   arch: amd64
//   sources:                   # apt repositories, read in this order (earlier wins on equal versions)
//     - url: http://deb.debian.org/debian
//       suite: bookworm
//       components: [main]
//       keyring: /usr/share/keyrings/debian-archive-keyring.gpg   # absolute, or relative to manifests/
//     - url: https://nvidia.github.io/libnvidia-container/stable/deb/amd64
//       flat: true                                                  # "deb URL ./"
//       keyring: keyrings/nvidia.gpg
//   base:                      # what a minimal install already has (never pinned)
//     priority_required: true  # Essential: yes and Priority: required, with their closure (default)
//     packages: [...]          # and/or an explicit list (with its closure)
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <common/bundle/bundle_index.hpp>

namespace common::manifest {

struct AptSource {
    std::string url;
    std::string suite;                   // empty for a flat repository
    std::vector<std::string> components; // empty for a flat repository
    bool flat = false;
    std::filesystem::path keyring;       // resolved to an absolute path
    bool check_valid_until = true;
    std::string where;                   // "file:line"

    // "URL suite components" (or "URL ./" when flat), for messages and the lock.
    std::string describe() const;
};

struct Target {
    std::string name;
    std::string os;
    std::string release;
    std::string arch;
    std::vector<AptSource> sources;
    bool base_priority_required = true;
    std::vector<std::string> base_packages;
    std::string path;
};

// The target name a profile platform maps to: "debian-12", "ubuntu-22.04-arm64".
std::string target_name(const bundle::Platform& platform);

// Loads <dir>/targets/<name>.yaml; errors name file, line and field.
Result<Target> load_target(const std::filesystem::path& dir, const std::string& name);

} // namespace common::manifest
