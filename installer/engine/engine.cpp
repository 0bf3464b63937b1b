// SPDX-License-Identifier: Apache-2.0
#include <installer/engine/engine.hpp>

#include <installer/phases/binaries_phase.hpp>
#include <installer/phases/preflight.hpp>
#include <installer/phases/store_phase.hpp>
#include <common/util/failpoint.hpp>

#include <algorithm>
#include <chrono>

namespace installer::engine {

using common::Errc;
using common::fail;

Result<std::vector<std::string>> select_phases(const std::vector<std::string>& plan, const Selection& s)
{
    auto in_plan = [&](const std::string& name) -> Result<void> {
        if (std::find(plan.begin(), plan.end(), name) == plan.end())
            return fail(Errc::invalid_argument, "phase '{}' is not in this role's plan ({})", name, fmt::join(plan, ", "));
        return {};
    };
    for (const std::string& n : s.only) TRY_VOID(in_plan(n));
    for (const std::string& n : s.skip) TRY_VOID(in_plan(n));
    if (!s.from.empty()) TRY_VOID(in_plan(s.from));
    std::vector<std::string> out;
    bool started = s.from.empty();
    for (const std::string& name : plan) {
        started |= name == s.from;
        if (!started) continue;
        if (!s.only.empty() && std::find(s.only.begin(), s.only.end(), name) == s.only.end()) continue;
        if (std::find(s.skip.begin(), s.skip.end(), name) != s.skip.end()) continue;
        out.push_back(name);
    }
    return out;
}

Result<std::unique_ptr<phases::Phase>> make_phase(std::string_view name)
{
    if (name == "preflight") return phases::make_preflight_phase();
    if (name == "store") return phases::make_store_phase();
    if (name == "binaries") return phases::make_binaries_phase();
    return fail(Errc::not_found, "phase '{}' is not known to this installer", name);
}

Result<std::vector<PlannedPhase>> plan(phases::Context& ctx, const std::vector<std::string>& names)
{
    std::vector<PlannedPhase> out;
    for (const std::string& name : names) {
        auto phase = make_phase(name);
        if (!phase) return fail(phase.error());
        auto satisfied = (*phase)->satisfied(ctx);
        if (!satisfied) return fail(satisfied.error().wrap("check " + name));
        out.push_back({std::move(*phase), *satisfied});
    }
    return out;
}

Result<Outcome> run(phases::Context& ctx, std::vector<PlannedPhase>& planned, Journal& journal)
{
    bool work = std::any_of(planned.begin(), planned.end(), [](const PlannedPhase& p) { return !p.phase->is_gate() && !p.satisfied; });
    if (!work) return Outcome::nothing_to_do;
    std::size_t index = 0;
    for (PlannedPhase& p : planned) {
        ++index;
        std::string name(p.phase->name());
        if (p.satisfied) {
            ctx.log.info("[{}/{}] {}: already done", index, planned.size(), name);
            if (!journal.done(ctx.bundle_id, ctx.role, name)) TRY_VOID(journal.record(ctx.bundle_id, ctx.role, name, "done"));
            continue;
        }
        ctx.log.info("[{}/{}] {}: {}", index, planned.size(), name, p.phase->summary());
        TRY_VOID(journal.record(ctx.bundle_id, ctx.role, name, "start"));
        auto started = std::chrono::steady_clock::now();
        common::failpoint("phase.started." + name);
        if (auto ok = p.phase->apply(ctx); !ok) {
            (void)journal.record(ctx.bundle_id, ctx.role, name, "failed");
            return fail(ok.error().wrap(name));
        }
        TRY_VOID(journal.record(ctx.bundle_id, ctx.role, name, "done"));
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        ctx.log.info("[{}/{}] {}: done in {:.1f} s", index, planned.size(), name, secs);
    }
    return Outcome::installed;
}

} // namespace installer::engine
