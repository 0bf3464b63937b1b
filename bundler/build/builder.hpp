// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <bundler/fetch/fetcher.hpp>
#include <bundler/registry/registry_client.hpp>
#include <common/bundle/bundle_index.hpp>
#include <common/manifest/binaries_lock.hpp>
#include <common/manifest/debs_lock.hpp>
#include <common/manifest/images_lock.hpp>
#include <common/manifest/manifests.hpp>

namespace bundler::build {

using common::Result;

struct BuildOptions {
    std::string profile;
    std::filesystem::path workdir = ".";      // holds manifests/ and the *.lock files
    std::filesystem::path output;             // default: <workdir>/dist/platform-installer-<profile>.run
    std::filesystem::path cache;              // content-addressed download cache
    std::filesystem::path installer;          // the static installer ELF to prepend
    std::vector<fetch::Mirror> mirrors;
    std::int64_t source_date_epoch = 0;
    int level = 3;
    unsigned threads = 0;
    std::filesystem::path sign_key; // PEM Ed25519 private key: sign the trailer (empty: unsigned)
    registry::RegistryOptions registry; // credentials, registry mirrors, --jobs
    bool fetch_only = false;            // stop once every pinned artifact is in the cache, verified (no .run)
    std::string arch;                   // the architecture to build for (needed when the profile has several)
};

struct BuildResult {
    std::filesystem::path output;
    common::digest::Digest file_sha256;
    std::uint64_t file_size = 0;
    std::size_t blobs = 0;
    std::uint64_t blob_bytes = 0; // the blobs' total size
};

// Checks that every binary and file the manifests name is pinned in binaries.lock (same URL; a published
// checksum in the manifest must equal the pin), that no two entries of a role install the same path, and
// that debs.lock holds, for every platform's target, a closure resolved for exactly the requested debs,
// and that images.lock pins every image for every platform of the profile (failed_precondition naming
// the image otherwise). Returns the bundle index those pins give: each image with the component's
// import/airgap/roles and only the profile's platforms, every blob listed once by digest.
Result<common::bundle::BundleIndex> plan_bundle(const common::manifest::Manifests& manifests,
                                                const common::manifest::BinariesLock& lock,
                                                const common::manifest::DebsLock& debs,
                                                const common::manifest::ImagesLock& images, std::int64_t created);
// Every pin the manifests need that the locks lack, grouped by component (files and addons by URL, images
// by reference, .deb closures by target), as one message; empty when nothing is missing. For a profile of
// one architecture (files of other arches need no pin).
std::string missing_pins(const common::manifest::Manifests& manifests, const common::manifest::BinariesLock& lock,
                         const common::manifest::DebsLock& debs, const common::manifest::ImagesLock& images);
// The same without images.
Result<common::bundle::BundleIndex> plan_bundle(const common::manifest::Manifests& manifests,
                                                const common::manifest::BinariesLock& lock,
                                                const common::manifest::DebsLock& debs, std::int64_t created);

// The images of a profile as the bundle carries them, checked against images.lock (see plan_bundle).
Result<std::vector<common::oci::LockedImage>> plan_images(const common::manifest::Manifests& manifests,
                                                          const common::manifest::ImagesLock& images);

// bundler build: manifests + locks -> cache -> [installer][payload][trailer] written atomically with a
// .sha256 beside it. On any failure no output file is left behind.
Result<BuildResult> build(const BuildOptions& options, fetch::Fetcher& fetcher);

} // namespace bundler::build
