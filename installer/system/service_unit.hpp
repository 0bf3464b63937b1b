// SPDX-License-Identifier: Apache-2.0
// The systemd unit the installer writes for a service, and the reading of it back (the plain-process
// mode starts what the unit's ExecStart= says, so a re-run after a crash needs nothing but the unit).
// Only units this file rendered are parsed: Description=, Environment="K=V" and ExecStart= with each
// argument double-quoted (\" and \\ escaped, % as %%, and $ as $$ in ExecStart=).
#pragma once

#include <string>
#include <string_view>

#include <installer/system/system.hpp>

namespace installer::system {

// The node path of a service's unit: /etc/systemd/system/<name>.service.
std::string unit_path(std::string_view name);
// The link that enables it at boot, as `systemctl enable` makes it (WantedBy=multi-user.target).
std::string wants_path(std::string_view name);

// invalid_argument unless name is [a-z0-9][a-z0-9-]* (at most 64).
Result<void> check_service_name(std::string_view name);

std::string render_unit(const ServiceSpec& spec);
// corrupt naming the unit's line when it is not one render_unit wrote.
Result<ServiceSpec> parse_unit(std::string_view text, std::string_view name);

} // namespace installer::system
