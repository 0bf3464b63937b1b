// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string_view>

namespace common {

// Fault injection for crash tests (as etcd's gofail): PLATFORM_INSTALLER_FAILPOINT="NAME@N=ACTION" (installer and bundler) makes
// the N-th hit (default 1) of failpoint NAME either "kill" the process with SIGKILL, "sleep:S" for S
// seconds, or "stop" it (SIGSTOP: the test changes the node, then sends SIGCONT). Unset, a failpoint costs one comparison.
void failpoint(std::string_view name);

} // namespace common
