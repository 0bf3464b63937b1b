// SPDX-License-Identifier: Apache-2.0
#include <installer/phases/addons_phase.hpp>

#include <installer/cluster/addon_manifests.hpp>
#include <installer/phases/store_files.hpp>

#include <common/util/failpoint.hpp>

namespace installer::phases {

namespace {

using common::Errc;
using common::fail;
using common::bundle::AddonEntry;
using common::bundle::AddonKind;

constexpr unsigned k_mode = 0600; // as k3s writes its own manifests

// Whether this node deploys the addons: the first master (the others, and workers, leave it to it).
Result<bool> deploys(const Context& ctx)
{
    if (ctx.index.addons.empty()) return false;
    if (!ctx.inventory || !ctx.self)
        return fail(Errc::invalid_argument, "phase addons needs the cluster's inventory: give --config cluster.yaml (docs/formats.md)");
    return ctx.self->name == ctx.inventory->first_master().name;
}

// The HelmChart file's text for a chart addon (reads an inlined chart from the store).
Result<std::string> helm_chart(Context& ctx, const AddonEntry& a)
{
    if (cluster::chart_served_static(a)) return cluster::helm_chart_yaml(a, {});
    auto chart = read_from_store(ctx, a.blob);
    if (!chart) return fail(chart.error().wrap("addon " + a.name));
    return cluster::helm_chart_yaml(a, *chart);
}

// Whether the addon's files are in place; with `write`, puts in place those that are not (and says so).
Result<bool> ensure(Context& ctx, const AddonEntry& a, bool write)
{
    std::string manifest = cluster::addon_manifest_path(a);
    if (a.kind == AddonKind::manifest) {
        auto ok = holds_blob(ctx.sys, manifest, a.blob, k_mode);
        if (!ok || *ok || !write) return ok;
        TRY_VOID(install_from_store(ctx, manifest, a.blob, k_mode));
        ctx.log.info("  addon {}: manifest {}", a.name, manifest);
        return true;
    }
    if (cluster::chart_served_static(a)) {
        std::string chart = cluster::static_chart_path(a);
        auto ok = holds_blob(ctx.sys, chart, a.blob, k_mode);
        if (!ok) return fail(ok.error());
        if (!*ok) {
            if (!write) return false;
            TRY_VOID(install_from_store(ctx, chart, a.blob, k_mode));
            ctx.log.info("  addon {}: chart {} ({} bytes, served by k3s: too big to inline)", a.name, chart, a.blob.size);
        }
    }
    auto text = helm_chart(ctx, a);
    if (!text) return fail(text.error());
    auto ok = file_holds(ctx.sys, manifest, *text);
    if (!ok) return fail(ok.error());
    auto mode = ctx.sys.stat(manifest);
    if (!mode) return fail(mode.error());
    if ((*ok && mode->mode == k_mode) || !write) return *ok && mode->mode == k_mode;
    TRY_VOID(ctx.sys.write_file(manifest, *text, {k_mode, {}, {}}));
    ctx.log.info("  addon {}: HelmChart {} (namespace {})", a.name, manifest, a.target_namespace);
    return true;
}

class AddonsPhase : public Phase {
public:
    using Phase::Phase;

    Result<bool> satisfied(Context& ctx) const override
    {
        auto mine = deploys(ctx);
        if (!mine || !*mine) return mine ? Result<bool>(true) : fail(mine.error());
        for (const AddonEntry& a : ctx.index.addons) {
            auto ok = ensure(ctx, a, false);
            if (!ok || !*ok) return ok;
        }
        return true;
    }

    std::string not_here(const Context& ctx) const override
    {
        auto mine = deploys(ctx);
        if (!mine || *mine || ctx.index.addons.empty()) return {};
        return fmt::format("the first master ({}) deploys the addons for the whole cluster", ctx.inventory->first_master().name);
    }

    Result<void> apply(Context& ctx) override
    {
        auto mine = deploys(ctx);
        if (!mine) return fail(mine.error());
        if (!*mine) return {}; // satisfied(): not_here() said why
        for (const AddonEntry& a : ctx.index.addons) {
            auto done = ensure(ctx, a, true);
            if (!done) return fail(done.error().wrap("addon " + a.name));
            common::failpoint("addons.written");
        }
        ctx.log.info("  {} addon(s) handed to k3s: `k3s kubectl get addon,helmchart -n kube-system` shows how they apply",
                     ctx.index.addons.size());
        return {};
    }
};

} // namespace

std::unique_ptr<Phase> make_addons_phase(const common::bundle::PhaseInfo& info) { return std::make_unique<AddonsPhase>(info); }

} // namespace installer::phases
