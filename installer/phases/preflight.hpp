// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <vector>

#include <installer/phases/phase.hpp>
#include <installer/system/facts.hpp>

namespace installer::phases {

// One preflight check's outcome; saved to <state>/preflight.json.
struct CheckResult {
    std::string id;
    bool ok = false;
    bool skipped = false;
    std::string observed;
    std::string required;
    std::string fix; // what the operator should do when it fails
};

// Check ids, each skippable alone with --skip-check ID: the node's own (evaluate_preflight), then the
// ones that need cluster.yaml (cluster_checks.hpp).
const std::vector<std::string>& node_check_ids();
const std::vector<std::string>& preflight_check_ids();

// Pure evaluation: the node's facts against the role's minima and the bundle's platforms.
// store_need_bytes: what the store and the installed files still need on the data dir's filesystem.
std::vector<CheckResult> evaluate_preflight(const system::Facts& facts, const common::bundle::RolePlan& plan,
                                            const std::vector<common::bundle::Platform>& platforms,
                                            std::uint64_t store_need_bytes, const std::set<std::string>& skip);

// Bytes the store still needs for this bundle (blobs not yet present).
std::uint64_t missing_store_bytes(const Context& ctx);

std::unique_ptr<Phase> make_preflight_phase(const common::bundle::PhaseInfo& info);

} // namespace installer::phases
