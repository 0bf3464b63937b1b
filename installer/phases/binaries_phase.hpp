// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include <installer/phases/phase.hpp>

namespace installer::phases {

// binaries: installs the role's pinned binaries and files from the store at their node paths, with their
// modes, through the system seam (verified copy, atomic replace, journaled with a backup of what was
// there). A target already holding the right bytes and mode is left alone.
std::unique_ptr<Phase> make_binaries_phase(const common::bundle::PhaseInfo& info);

} // namespace installer::phases
