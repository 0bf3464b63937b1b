// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include <installer/phases/phase.hpp>

namespace installer::phases {

// ha: on the masters of a cluster whose registration address is its VIP (cluster/ha_config.hpp),
// keepalived holding the VIP and haproxy serving every master's API server on it, both from the
// bundle's apt packages, as services (platform-keepalived, platform-haproxy) with their configs in
// /etc/platform-installer/. Nothing on workers, or when cluster.yaml names no VIP. A re-run with a
// changed master list rewrites the configs and restarts both.
std::unique_ptr<Phase> make_ha_phase(const common::bundle::PhaseInfo& info);

} // namespace installer::phases
