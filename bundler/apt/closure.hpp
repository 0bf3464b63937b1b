// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <bundler/apt/package_index.hpp>
#include <bundler/apt/repository.hpp>
#include <bundler/apt/resolver.hpp>
#include <common/manifest/debs_lock.hpp>

namespace bundler::apt {

// Everything `bundler lock` learns about one target: its verified sources, its index, its base set
// and the closure of the requested packages.
struct TargetClosure {
    std::unique_ptr<PackageIndex> index;
    std::vector<common::manifest::SourcePin> sources;
    std::vector<const Package*> base;
    std::vector<const Package*> packages; // beyond the base, sorted by name
    common::manifest::TargetPins pins;    // what debs.lock records
};

// Reads every source of the target (signatures and index hashes checked), computes the base set, then
// the closure of `requested`. Errors name the source, file or package chain.
Result<TargetClosure> resolve_target(const common::manifest::Target& target, const std::vector<std::string>& requested,
                                     Recommends recommends, RepositoryReader& reader);

} // namespace bundler::apt
