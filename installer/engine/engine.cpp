// SPDX-License-Identifier: Apache-2.0
#include <installer/engine/engine.hpp>

#include <installer/phases/addons_phase.hpp>
#include <installer/phases/binaries_phase.hpp>
#include <installer/phases/images_phase.hpp>
#include <installer/phases/ha_phase.hpp>
#include <installer/phases/k3s_phase.hpp>
#include <installer/phases/apt_phase.hpp>
#include <installer/phases/registry_phase.hpp>
#include <installer/phases/preflight.hpp>
#include <installer/phases/store_phase.hpp>

#include <common/util/failpoint.hpp>

#include <algorithm>
#include <chrono>
#include <map>

namespace installer::engine {

using common::Errc;
using common::fail;
using common::bundle::PhaseInfo;
using common::bundle::PhaseLevel;

namespace {

bool contains(const std::vector<std::string>& list, std::string_view name)
{
    return std::find(list.begin(), list.end(), name) != list.end();
}

bool is_gate(std::string_view name)
{
    const PhaseInfo* info = common::bundle::find_phase(name);
    return info && info->level == PhaseLevel::gate;
}

// Whether --only/--skip/--from alone would keep this phase.
bool chosen(const std::string& name, bool started, const Selection& s)
{
    return started && (s.only.empty() || contains(s.only, name)) && !contains(s.skip, name);
}

} // namespace

Result<std::vector<std::string>> select_phases(const std::vector<std::string>& plan, const Selection& s)
{
    auto in_plan = [&](const std::string& name) -> Result<void> {
        if (!contains(plan, name))
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
        // A gate is never skipped wholesale: its checks are skipped one by one (--skip-check ID).
        if (is_gate(name) || chosen(name, started, s)) out.push_back(name);
    }
    return out;
}

std::vector<std::string> kept_gates(const std::vector<std::string>& plan, const Selection& s)
{
    std::vector<std::string> out;
    bool started = s.from.empty();
    for (const std::string& name : plan) {
        started |= name == s.from;
        if (is_gate(name) && !chosen(name, started, s)) out.push_back(name);
    }
    return out;
}

Result<std::unique_ptr<phases::Phase>> make_phase(std::string_view name)
{
    using Factory = std::unique_ptr<phases::Phase> (*)(const PhaseInfo&);
    static const std::map<std::string_view, Factory> factories{
        {"preflight", &phases::make_preflight_phase},
        {"store", &phases::make_store_phase},
        {"binaries", &phases::make_binaries_phase},
        {"apt", &phases::make_apt_phase},
        {"registry", &phases::make_registry_phase},
        {"images", &phases::make_images_phase},
        {"ha", &phases::make_ha_phase},
        {"k3s", &phases::make_k3s_phase},
        {"import", &phases::make_import_phase},
        {"addons", &phases::make_addons_phase},
    };
    const PhaseInfo* info = common::bundle::find_phase(name);
    if (!info) return fail(Errc::not_found, "phase '{}' is not known to this installer", name);
    auto it = factories.find(name);
    if (it == factories.end()) return fail(Errc::unsupported, "phase '{}' is in the phase table but has no implementation", name);
    return it->second(*info);
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
            std::string elsewhere = p.phase->not_here(ctx);
            if (elsewhere.empty()) ctx.log.info("[{}/{}] {}: already done", index, planned.size(), name);
            else ctx.log.info("[{}/{}] {}: nothing to do on this node: {}", index, planned.size(), name, elsewhere);
            if (!journal.done(ctx.bundle_id, ctx.role, name)) TRY_VOID(journal.record(ctx.bundle_id, ctx.role, name, "done"));
            continue;
        }
        ctx.log.info("[{}/{}] {}: {}", index, planned.size(), name, p.phase->summary());
        TRY_VOID(journal.record(ctx.bundle_id, ctx.role, name, "start"));
        auto started = std::chrono::steady_clock::now();
        common::failpoint("phase.started." + name);
        ctx.sys.begin_phase(name); // the changes that follow are this phase's, for reset
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
