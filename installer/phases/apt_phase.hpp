// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include <installer/phases/phase.hpp>

namespace installer::phases {

// Phase `apt`: the node's own apt repository of the bundle's .debs for its OS release (apt_repo.hpp),
// signed by a key only this node has, and the closure installed by the node's apt at the locked versions,
// apt seeing only that repository. Done when every package of the closure is installed at its version.
std::unique_ptr<Phase> make_apt_phase(const common::bundle::PhaseInfo& info);

} // namespace installer::phases
