// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <installer/engine/journal.hpp>
#include <installer/phases/phase.hpp>

namespace installer::engine {

using common::Result;

// --only / --skip / --from, applied to a role's phase plan (in plan order).
struct Selection {
    std::vector<std::string> only;
    std::vector<std::string> skip;
    std::string from;
};

// The role's phases after selection; invalid_argument naming any phase not in the plan. Gates
// (preflight) are always kept: their checks are skipped one at a time, never all at once.
Result<std::vector<std::string>> select_phases(const std::vector<std::string>& plan, const Selection& selection);
// The gates the selection alone would have left out (select_phases keeps them): for a note to the operator.
std::vector<std::string> kept_gates(const std::vector<std::string>& plan, const Selection& selection);

// Creates the phase with this name from its row of the phase table; not_found for names this
// installer does not know.
Result<std::unique_ptr<phases::Phase>> make_phase(std::string_view name);

struct PlannedPhase {
    std::unique_ptr<phases::Phase> phase;
    bool satisfied = false;
};

// Builds each selected phase and asks whether its work is already in place (read-only).
Result<std::vector<PlannedPhase>> plan(phases::Context& ctx, const std::vector<std::string>& names);

enum class Outcome { nothing_to_do, installed };

// Runs the plan: if any non-gate phase has work, runs the gates then every phase with work, in order,
// journaling start/done (fsynced) around each. Stops at the first failure, journaled as failed.
Result<Outcome> run(phases::Context& ctx, std::vector<PlannedPhase>& planned, Journal& journal);

} // namespace installer::engine
