// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include <installer/phases/phase.hpp>

namespace installer::phases {

// binaries: installs the role's pinned binaries and files from the store at their paths under the
// root, with their modes: copied through a digest check to a temp file beside the target, fsynced,
// renamed. A target already holding the right bytes and mode is left alone.
std::unique_ptr<Phase> make_binaries_phase();

} // namespace installer::phases
