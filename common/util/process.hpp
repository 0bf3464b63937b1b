// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <vector>

#include <common/util/error.hpp>

namespace common {

struct ProcessResult {
    int exit_code = 0;   // 128+N when killed by signal N
    std::string output;  // stdout and stderr, interleaved, capped at 1 MiB
};

// Runs argv[0] (searched in PATH) with no shell and stdin from /dev/null; not_found when it is not installed.
Result<ProcessResult> run_process(const std::vector<std::string>& argv);

} // namespace common
