// SPDX-License-Identifier: Apache-2.0
// debs.lock, version 1 (written by `bundler lock`, read by `bundler build`): per target release, the
// whole .deb closure of what the profile's components request, beyond the target's base set.
//
//   version: 1
//   targets:                      # sorted by name
//     - name: debian-12
//       requested: [conntrack, socat]           # the component `debs:` this closure was resolved for
//       sources:                                # the signed Release each source was read from
//         - {source: "http://deb.debian.org/debian bookworm main", release_sha256: <hex>, date: "..."}
//       packages:                               # sorted by name, then architecture
//         - name: socat
//           version: 1.7.4.4-2
//           architecture: amd64
//           size: 374348
//           sha256: <hex>
//           source: http://deb.debian.org/debian  # repository URL; the file is <source>/<path>
//           path: pool/main/s/socat/socat_1.7.4.4-2_amd64.deb
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <common/store/blob_store.hpp>

namespace common::manifest {

struct DebPin {
    std::string name;
    std::string version;
    std::string architecture;
    store::BlobRef blob;
    std::string source;
    std::string path;

    std::string url() const { return source + "/" + path; }
};

struct SourcePin {
    std::string source;
    std::string release_sha256;
    std::string date;
};

struct TargetPins {
    std::string name;
    std::vector<std::string> requested;
    std::vector<SourcePin> sources;
    std::vector<DebPin> packages;
};

struct DebsLock {
    std::vector<TargetPins> targets;

    const TargetPins* find(std::string_view target) const;
    // Replaces (or adds) one target's pins.
    void put(TargetPins pins);
    // Sorted, deterministic YAML.
    std::string to_yaml() const;
    // A missing file is an empty lock; errors name file, line and field.
    static Result<DebsLock> load(const std::filesystem::path& path);
};

} // namespace common::manifest
