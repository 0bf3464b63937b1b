// SPDX-License-Identifier: Apache-2.0
#include <common/util/failpoint.hpp>

#include <csignal>
#include <cstdlib>
#include <string>
#include <unistd.h>

namespace common {

void failpoint(std::string_view name)
{
    static const char* spec_env = std::getenv("PLATFORM_INSTALLER_FAILPOINT");
    if (!spec_env) return;
    static int hits = 0;
    std::string_view spec(spec_env);
    std::size_t eq = spec.find('=');
    std::string_view target = spec.substr(0, eq);
    std::string_view action = eq == std::string_view::npos ? "kill" : spec.substr(eq + 1);
    int want = 1;
    if (std::size_t at = target.find('@'); at != std::string_view::npos) {
        want = std::atoi(std::string(target.substr(at + 1)).c_str());
        target = target.substr(0, at);
    }
    if (target != name || ++hits != want) return;
    if (action.starts_with("sleep:")) {
        ::sleep(static_cast<unsigned>(std::atoi(std::string(action.substr(6)).c_str())));
        return;
    }
    if (action == "stop") { // the test changes something, then sends SIGCONT
        ::raise(SIGSTOP);
        return;
    }
    ::kill(::getpid(), SIGKILL);
}

} // namespace common
