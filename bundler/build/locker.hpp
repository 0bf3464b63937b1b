// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <bundler/fetch/fetcher.hpp>
#include <bundler/registry/registry_client.hpp>

namespace bundler::build {

using common::Result;

struct LockOptions {
    std::string profile;
    std::filesystem::path workdir = ".";
    std::filesystem::path cache;
    std::vector<fetch::Mirror> mirrors;
    bool check_only = false; // --check: report disagreement, write nothing, fetch nothing
    bool update = false;     // --update: re-fetch and re-pin entries that are already pinned
    bool recommends = false; // --recommends: .deb closures follow Recommends too
    registry::RegistryOptions registry; // credentials, registry mirrors, --jobs
};

struct LockReport {
    std::size_t pinned = 0;      // binaries newly pinned or re-pinned
    std::size_t unchanged = 0;   // binaries already pinned
    std::size_t targets_resolved = 0;
    std::size_t debs_pinned = 0; // packages in the closures just resolved
    std::size_t targets_unchanged = 0;
    std::size_t images_pinned = 0;    // images resolved (or given more platforms) from their registry
    std::size_t images_unchanged = 0; // images already pinned for every platform of the profile
    std::vector<std::string> problems; // --check: what disagrees
};

// bundler lock: pins every binary/file of the profile in <workdir>/binaries.lock from the server the
// bundler talks to (through --mirror), checked against a published sha256 where the manifest gives one;
// and, when its components request debs, the whole .deb closure per target release in debs.lock (from
// signed repositories, index hashes checked); and every image in images.lock: the registry is asked
// only for images not pinned yet (by tag), pinned for too few platforms (by the pinned digest, so the
// pin does not move) or, with update, all of them (by tag). Pins of other profiles and targets are kept.
// With check_only, fails (failed_precondition) listing every disagreement, offline.
Result<LockReport> lock(const LockOptions& options, fetch::Fetcher& fetcher);

} // namespace bundler::build
