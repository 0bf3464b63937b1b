// SPDX-License-Identifier: Apache-2.0
// Which packages of a target's closure this node installs. A bundle whose components ask for every
// package on every node (no deb_requests) installs the whole closure, exactly as the lock resolved it.
// Otherwise the node takes the closure of the requests that apply to it (its role, has_gpu: keepalived
// only on masters, nvidia-container-toolkit only on GPU nodes), followed through Pre-Depends and Depends
// in the bundle's own Packages index. An alternative (a | b) is the first the bundle carries, by name or
// Provides; one it does not carry is in the target's base set, as the lock resolved it.
#pragma once

#include <string_view>
#include <vector>

#include <common/bundle/bundle_index.hpp>

namespace installer::phases {

std::vector<common::bundle::DebEntry> node_debs(const std::vector<common::bundle::DebEntry>& closure, std::string_view packages_index,
                                                const std::vector<common::bundle::DebRequest>& requests, std::string_view role,
                                                bool has_gpu);

} // namespace installer::phases
