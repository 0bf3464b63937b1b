// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include <installer/phases/phase.hpp>

namespace installer::phases {

// registry: this node serves every image of the bundle, under its original name, from the CNCF
// Distribution registry (the pinned binary at /usr/local/bin/registry) reading a tree of hard links to
// the node store (never a copy, never a push); a read-only config; a service (a systemd unit, or a plain
// process with a pid file); ready once /v2/ answers. Then k3s and containerd are pointed at it.
std::unique_ptr<Phase> make_registry_phase(const common::bundle::PhaseInfo& info);

} // namespace installer::phases
