// SPDX-License-Identifier: Apache-2.0
#include <bundler/build/locker.hpp>

#include <bundler/apt/closure.hpp>
#include <common/io/file.hpp>
#include <common/manifest/binaries_lock.hpp>
#include <common/manifest/debs_lock.hpp>
#include <common/manifest/manifests.hpp>
#include <common/manifest/target.hpp>

#include <algorithm>
#include <optional>

namespace bundler::build {

using common::Errc;
using common::fail;
namespace manifest = common::manifest;

namespace {

// Opens the cache on first use: --check never needs it.
class LazyCache {
public:
    explicit LazyCache(std::filesystem::path dir) : m_dir(std::move(dir)) {}
    Result<const common::store::BlobStore*> get()
    {
        if (!m_store) {
            auto opened = common::store::BlobStore::open(m_dir);
            if (!opened) return fail(opened.error().wrap("open cache"));
            // Partial downloads of killed runs (a bundler still running holds an flock on its own).
            if (auto removed = opened->remove_stale_ingests(); !removed) return fail(removed.error());
            m_store = std::move(*opened);
        }
        return &*m_store;
    }

private:
    std::filesystem::path m_dir;
    std::optional<common::store::BlobStore> m_store;
};

Result<bool> lock_binaries(const LockOptions& o, const manifest::Manifests& m, manifest::BinariesLock& lock,
                           LazyCache& cache, fetch::Fetcher& fetcher, LockReport& report)
{
    bool changed = false;
    for (const manifest::Component& c : m.components) {
        for (const manifest::FileSpec& f : c.files) {
            const std::optional<common::digest::Digest>& published = f.published_sha256;
            manifest::BinaryPin* pin = lock.find(f.url);
            bool agrees = pin && (!published || pin->blob.digest == *published);
            if (o.check_only) {
                if (!pin) report.problems.push_back(fmt::format("{}: {}: {} is not pinned", f.where, f.name, f.url));
                else if (!agrees)
                    report.problems.push_back(fmt::format("{}: {}: pinned {} but the published sha256 is {}", f.where,
                                                          f.name, pin->blob.digest.str(), published->str()));
                else ++report.unchanged;
                continue;
            }
            if (agrees && !o.update) {
                ++report.unchanged;
                continue;
            }
            auto store = cache.get();
            if (!store) return fail(store.error());
            auto got = fetch::fetch_unpinned(fetcher, **store, f.url, o.mirrors);
            if (!got) return fail(got.error());
            if (published && got->digest != *published)
                return fail(Errc::digest_mismatch, "{}: {}: {} has sha256 {}, but the published sha256 is {}", f.where,
                            f.name, f.url, got->digest.str(), published->str());
            std::string effective = fetch::apply_mirrors(f.url, o.mirrors);
            std::string source = published ? f.published_source + " (checked against the download)"
                                           : "sha256 of what " + effective + " served to bundler lock";
            manifest::BinaryPin fresh{f.url, f.name, *got, source};
            if (pin) *pin = fresh;
            else lock.pins.push_back(fresh);
            ++report.pinned;
            changed = true;
        }
    }
    return changed;
}

Result<bool> lock_debs(const LockOptions& o, const manifest::Manifests& m, manifest::DebsLock& lock, LazyCache& cache,
                       fetch::Fetcher& fetcher, LockReport& report)
{
    std::vector<std::string> requested = m.requested_debs();
    if (requested.empty()) return false;
    bool changed = false;
    for (const common::bundle::Platform& platform : m.profile.platforms) {
        std::string name = manifest::target_name(platform);
        const manifest::TargetPins* pins = lock.find(name);
        bool agrees = pins && pins->requested == requested;
        if (o.check_only) {
            if (!pins) report.problems.push_back(fmt::format("debs.lock has no closure for target {}", name));
            else if (!agrees)
                report.problems.push_back(fmt::format("debs.lock target {} was resolved for [{}], the manifests request [{}]",
                                                      name, fmt::join(pins->requested, ", "), fmt::join(requested, ", ")));
            else ++report.targets_unchanged;
            continue;
        }
        if (agrees && !o.update) {
            ++report.targets_unchanged;
            continue;
        }
        auto target = manifest::load_target(o.workdir / "manifests", name);
        if (!target) return fail(target.error().wrap(fmt::format("profile {} platform {} {} {}", m.profile.name, platform.os,
                                                                 platform.release, platform.arch)));
        auto store = cache.get();
        if (!store) return fail(store.error());
        apt::RepositoryReader reader(fetcher, **store, o.mirrors);
        auto closure = apt::resolve_target(*target, requested, o.recommends ? apt::Recommends::install : apt::Recommends::skip, reader);
        if (!closure) return fail(closure.error());
        report.debs_pinned += closure->pins.packages.size();
        ++report.targets_resolved;
        lock.put(std::move(closure->pins));
        changed = true;
    }
    return changed;
}

} // namespace

Result<LockReport> lock(const LockOptions& o, fetch::Fetcher& fetcher)
{
    auto manifests = manifest::load_manifests(o.workdir / "manifests", o.profile);
    if (!manifests) return fail(manifests.error());
    std::filesystem::path binaries_path = o.workdir / "binaries.lock";
    std::filesystem::path debs_path = o.workdir / "debs.lock";
    auto binaries = manifest::BinariesLock::load(binaries_path);
    if (!binaries) return fail(binaries.error());
    auto debs = manifest::DebsLock::load(debs_path);
    if (!debs) return fail(debs.error());

    if (!o.check_only) {
        // Temp files of killed locks beside the locks (a concurrent lock's temp is flocked: kept).
        TRY_VOID(common::io::remove_stale_temps(binaries_path));
        TRY_VOID(common::io::remove_stale_temps(debs_path));
    }
    LockReport report;
    LazyCache cache(o.cache);
    auto binaries_changed = lock_binaries(o, *manifests, *binaries, cache, fetcher, report);
    if (!binaries_changed) return fail(binaries_changed.error());
    auto debs_changed = lock_debs(o, *manifests, *debs, cache, fetcher, report);
    if (!debs_changed) return fail(debs_changed.error());
    if (o.check_only) {
        if (!report.problems.empty())
            return fail(Errc::failed_precondition, "the locks disagree with the manifests of profile {}:\n  {}", o.profile,
                        fmt::join(report.problems, "\n  "));
        return report;
    }
    // Both files are written only once everything resolved: a failed lock changes neither.
    if (*binaries_changed) TRY_VOID(common::io::write_file_atomic(binaries_path, binaries->to_yaml()));
    if (*debs_changed) TRY_VOID(common::io::write_file_atomic(debs_path, debs->to_yaml()));
    return report;
}

} // namespace bundler::build
