// SPDX-License-Identifier: Apache-2.0
// binaries.lock, version 1 (written by `bundler lock`, read by `bundler build`):
//
//   version: 1
//   binaries:            # sorted by url, one entry per url
//     - url: https://...
//       name: k3s
//       size: 70000000
//       sha256: <64 hex>
//       source: <where the pin came from: a published checksum, or the server the bundler fetched>
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <common/store/blob_store.hpp>

namespace common::manifest {

struct BinaryPin {
    std::string url;
    std::string name;
    store::BlobRef blob;
    std::string source;
};

struct BinariesLock {
    std::vector<BinaryPin> pins;

    const BinaryPin* find(std::string_view url) const;
    BinaryPin* find(std::string_view url);
    // Sorted, deterministic YAML.
    std::string to_yaml() const;
    // A missing file is an empty lock; errors name file, line and field.
    static Result<BinariesLock> load(const std::filesystem::path& path);
};

} // namespace common::manifest
