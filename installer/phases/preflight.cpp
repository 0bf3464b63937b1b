// SPDX-License-Identifier: Apache-2.0
#include <installer/phases/preflight.hpp>

#include <installer/phases/cluster_checks.hpp>

#include <common/io/file.hpp>
#include <common/util/progress.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>

namespace installer::phases {

namespace {

constexpr double k_gib = 1024.0 * 1024 * 1024;
// A machine sold as "4 GB" reports less as MemTotal (the kernel keeps some): accept 90% of the nominal.
constexpr double k_memory_tolerance = 0.9;

CheckResult check(std::string id, bool ok, std::string observed, std::string required, std::string fix)
{
    return {std::move(id), ok, false, std::move(observed), std::move(required), std::move(fix)};
}

class PreflightPhase : public Phase {
public:
    using Phase::Phase;
    Result<bool> satisfied(Context&) const override { return false; }

    Result<void> apply(Context& ctx) override
    {
        auto facts = system::gather_facts(ctx.sys, ctx.paths.state);
        if (!facts) return common::fail(facts.error());
        const common::bundle::RolePlan* plan = ctx.index.role(ctx.role);
        auto results = evaluate_preflight(*facts, *plan, ctx.index.platforms, missing_store_bytes(ctx), ctx.skip_checks);
        for (CheckResult& r : cluster_checks(ctx)) {
            r.skipped = ctx.skip_checks.contains(r.id);
            results.push_back(std::move(r));
        }
        nlohmann::json j = nlohmann::json::array();
        std::vector<const CheckResult*> failed;
        for (const CheckResult& r : results) {
            j.push_back({{"id", r.id}, {"ok", r.ok}, {"skipped", r.skipped}, {"observed", r.observed},
                         {"required", r.required}, {"fix", r.fix}});
            std::string_view status = r.skipped ? "skipped" : r.ok ? "ok" : "FAILED";
            ctx.log.info("  {:<12} {:<7} {} (need {})", r.id, status, r.observed, r.required);
            if (!r.ok && !r.skipped) failed.push_back(&r);
        }
        TRY_VOID(common::io::remove_stale_temps(ctx.paths.preflight));
        TRY_VOID(common::io::write_file_atomic(ctx.paths.preflight,
                                               nlohmann::json{{"role", ctx.role}, {"checks", j}}.dump(2) + "\n"));
        if (failed.empty()) return {};
        std::string why;
        for (const CheckResult* r : failed)
            why += fmt::format("\n  {}: {} (need {}): {}", r->id, r->observed, r->required, r->fix);
        return common::fail(common::Errc::failed_precondition,
                            "preflight failed ({} of {} checks):{}\nresults: {}; to skip one check: --skip-check ID",
                            failed.size(), results.size(), why, ctx.paths.preflight.string());
    }
};

} // namespace

const std::vector<std::string>& node_check_ids()
{
    static const std::vector<std::string> ids{"root", "os", "arch", "cpu", "memory", "disk", "store-space"};
    return ids;
}

const std::vector<std::string>& preflight_check_ids()
{
    static const std::vector<std::string> ids = [] {
        std::vector<std::string> all = node_check_ids();
        all.insert(all.end(), cluster_check_ids().begin(), cluster_check_ids().end());
        return all;
    }();
    return ids;
}

std::vector<CheckResult> evaluate_preflight(const system::Facts& f, const common::bundle::RolePlan& plan,
                                            const std::vector<common::bundle::Platform>& platforms,
                                            std::uint64_t store_need_bytes, const std::set<std::string>& skip)
{
    std::vector<CheckResult> out;
    out.push_back(check("root", f.euid == 0, fmt::format("uid {}", f.euid), "uid 0", "run the installer as root (sudo)"));

    std::vector<std::string> releases, arches;
    bool os_ok = false, arch_ok = false;
    for (const auto& p : platforms) {
        releases.push_back(p.os + " " + p.release);
        arches.push_back(p.arch);
        os_ok |= p.os == f.os_id && p.release == f.os_version_id;
        arch_ok |= p.arch == f.arch;
    }
    std::sort(releases.begin(), releases.end());
    releases.erase(std::unique(releases.begin(), releases.end()), releases.end());
    std::sort(arches.begin(), arches.end());
    arches.erase(std::unique(arches.begin(), arches.end()), arches.end());
    std::string os_seen = f.os_id.empty() ? std::string("unknown (no /etc/os-release in the root)") : fmt::format("{} {}", f.os_id, f.os_version_id);
    out.push_back(check("os", os_ok, os_seen, fmt::format("one of: {}", fmt::join(releases, ", ")),
                        "use a bundle built for this OS release (bundler build with a profile listing it)"));
    out.push_back(check("arch", arch_ok, f.arch, fmt::format("one of: {}", fmt::join(arches, ", ")),
                        "use a bundle built for this architecture"));
    out.push_back(check("cpu", f.cpus >= plan.minima.cpus, fmt::format("{} CPU", f.cpus), fmt::format("{} CPU", plan.minima.cpus),
                        "give the node more CPUs"));
    double mem_need = plan.minima.memory_gb * k_gib * k_memory_tolerance;
    out.push_back(check("memory", static_cast<double>(f.memory_bytes) >= mem_need,
                        fmt::format("{:.1f} GiB", static_cast<double>(f.memory_bytes) / k_gib),
                        fmt::format("{} GiB (MemTotal at least {:.1f} GiB)", plan.minima.memory_gb, mem_need / k_gib),
                        "give the node more memory"));
    double disk_need = plan.minima.disk_gb * k_gib;
    out.push_back(check("disk", static_cast<double>(f.data_dir_free_bytes) >= disk_need,
                        fmt::format("{} free", common::human_bytes(f.data_dir_free_bytes)),
                        fmt::format("{} GiB free", plan.minima.disk_gb), "free space on the filesystem holding /var/lib"));
    // 5% head room over the exact need, for filesystem overhead.
    std::uint64_t store_need = store_need_bytes + store_need_bytes / 20;
    out.push_back(check("store-space", f.data_dir_free_bytes >= store_need,
                        fmt::format("{} free", common::human_bytes(f.data_dir_free_bytes)),
                        fmt::format("{} for the bundle's files", common::human_bytes(store_need)),
                        "free space on the filesystem holding /var/lib/platform-installer"));
    for (CheckResult& r : out) r.skipped = skip.contains(r.id);
    return out;
}

std::uint64_t missing_store_bytes(const Context& ctx)
{
    auto store = common::store::BlobStore::view(ctx.paths.store);
    std::uint64_t need = 0;
    for (const common::store::BlobRef& b : ctx.index.blobs)
        if (!store.contains(b)) need += b.size;
    for (const common::bundle::FileEntry& f : ctx.index.files)
        if (f.for_role(ctx.role)) need += f.blob.size;
    return need;
}

std::unique_ptr<Phase> make_preflight_phase(const common::bundle::PhaseInfo& info) { return std::make_unique<PreflightPhase>(info); }

} // namespace installer::phases
