// SPDX-License-Identifier: Apache-2.0
// Preflight checks that need cluster.yaml: the GPU driver of a has_gpu node, conflicting container
// runtimes and swap on a node that runs k3s, and, before a node joins, what the other nodes say: the
// registration address answers, the previous master answers (masters join one at a time), this node's
// clock is within k_max_clock_drift of the first master's (the Date its registry sends), its hostname
// is not another node's name and it holds its own address. Each has an id, skippable alone.
#pragma once

#include <chrono>
#include <vector>

#include <installer/phases/preflight.hpp>

namespace installer::phases {

inline constexpr std::chrono::seconds k_max_clock_drift{10};

const std::vector<std::string>& cluster_check_ids();

// The checks that apply to this node (none without cluster.yaml).
std::vector<CheckResult> cluster_checks(Context& ctx);

// Seconds since the epoch of an HTTP Date ("Sun, 06 Nov 1994 08:49:37 GMT"), or nullopt.
std::optional<std::int64_t> parse_http_date(std::string_view text);

} // namespace installer::phases
