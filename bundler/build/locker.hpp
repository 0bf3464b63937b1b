// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <bundler/fetch/fetcher.hpp>

namespace bundler::build {

using common::Result;

struct LockOptions {
    std::string profile;
    std::filesystem::path workdir = ".";
    std::filesystem::path cache;
    std::vector<fetch::Mirror> mirrors;
    bool check_only = false; // --check: report disagreement, write nothing
    bool update = false;     // --update: re-fetch and re-pin entries already pinned
};

struct LockReport {
    std::size_t pinned = 0;    // entries newly pinned or re-pinned
    std::size_t unchanged = 0; // entries already pinned
    std::vector<std::string> problems; // --check: what disagrees
};

// bundler lock: pins every binary/file of the profile in <workdir>/binaries.lock from the server the
// bundler talks to (through --mirror), checked against a published sha256 where the manifest gives one.
// Pins of other profiles are kept. With check_only, fails (failed_precondition) listing every disagreement.
Result<LockReport> lock(const LockOptions& options, fetch::Fetcher& fetcher);

} // namespace bundler::build
