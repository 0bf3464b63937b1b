// SPDX-License-Identifier: Apache-2.0
// The install phases this version knows, in their one order. Profiles name a subset of them per role
// (bundle.json carries the role's list); the manifests check names and order against this table, the
// installer's engine builds each phase from it, and `reset` undoes the host-level ones in reverse.
#pragma once

#include <string_view>
#include <vector>

namespace common::bundle {

// What a phase touches, which decides how it is run and undone.
enum class PhaseLevel {
    gate,    // checks the node and changes nothing; runs whenever another phase has work, never skipped
    state,   // writes only the installer's own state (/var/lib/platform-installer); kept by reset
    host,    // changes the host through the system seam and its change log; undone by reset, last first
    cluster, // acts on the cluster; rolls forward on re-run instead of being undone
};

struct PhaseInfo {
    std::string_view name;
    PhaseLevel level;
    std::string_view summary; // one line for --dry-run and progress
};

// Every known phase, in install order.
const std::vector<PhaseInfo>& phase_table();

// The row of `name`, or nullptr when this version does not know it.
const PhaseInfo* find_phase(std::string_view name);

// Position of a known phase in the table (install order); find_phase(name) must not be null.
std::size_t phase_order(std::string_view name);

std::string_view to_string(PhaseLevel level);

} // namespace common::bundle
