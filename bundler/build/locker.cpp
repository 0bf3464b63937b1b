// SPDX-License-Identifier: Apache-2.0
#include <bundler/build/locker.hpp>

#include <bundler/apt/closure.hpp>
#include <bundler/http/parallel.hpp>
#include <bundler/registry/image_resolver.hpp>
#include <common/io/file.hpp>
#include <common/manifest/binaries_lock.hpp>
#include <common/manifest/debs_lock.hpp>
#include <common/manifest/images_lock.hpp>
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
        for (const manifest::FileSpec* file : c.pinned_files()) {
            const manifest::FileSpec& f = *file;
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

// What an image's pin lacks for this profile: empty when it serves the manifests as they are.
std::string image_problem(const manifest::ImageSpec& spec, const common::oci::LockedImage* pin,
                          const std::vector<common::oci::Platform>& want)
{
    if (!pin) return fmt::format("{}: image {} is not pinned", spec.where, spec.ref);
    if (pin->name != spec.reference.name() || (spec.reference.digest && *spec.reference.digest != pin->top.digest))
        return fmt::format("{}: image {} is pinned as {}@{}, which is not what the reference names", spec.where, spec.ref,
                           pin->name, pin->top.digest.str());
    std::vector<std::string> missing, has;
    for (const common::oci::Platform& w : want)
        if (!manifest::find_platform(*pin, w)) missing.push_back(w.str());
    if (missing.empty()) return {};
    for (const common::oci::ImagePlatform& p : pin->platforms) has.push_back(p.platform.str());
    return fmt::format("{}: image {} is pinned for {}, not for {}", spec.where, spec.ref, fmt::join(has, ", "), fmt::join(missing, ", "));
}

struct ImageTask {
    const manifest::ImageSpec* spec;
    std::string manifest_ref;                  // the tag, or the pinned digest when only platforms are missing
    std::vector<common::oci::Platform> want;   // the profile's, and those pinned already (other profiles)
};

Result<bool> lock_images(const LockOptions& o, const manifest::Manifests& m, manifest::ImagesLock& lock, LazyCache& cache,
                         LockReport& report)
{
    std::vector<manifest::ImageSpec> specs = m.requested_images();
    if (specs.empty()) return false;
    std::vector<common::oci::Platform> want = registry::image_platforms(m.profile.platforms);
    std::vector<ImageTask> tasks;
    for (const manifest::ImageSpec& spec : specs) {
        const common::oci::LockedImage* pin = lock.find(spec.ref);
        std::string problem = image_problem(spec, pin, want);
        if (o.check_only) {
            if (problem.empty()) ++report.images_unchanged;
            else report.problems.push_back(problem);
            continue;
        }
        if (problem.empty() && !o.update) {
            ++report.images_unchanged;
            continue;
        }
        bool same_image = pin && pin->name == spec.reference.name() && (!spec.reference.digest || *spec.reference.digest == pin->top.digest);
        ImageTask task{&spec, same_image && !o.update ? pin->top.digest.str() : spec.reference.manifest_ref(), want};
        if (same_image)
            for (const common::oci::ImagePlatform& p : pin->platforms)
                if (std::none_of(want.begin(), want.end(), [&](const common::oci::Platform& w) { return p.platform.serves(w); }))
                    task.want.push_back(p.platform);
        tasks.push_back(std::move(task));
    }
    if (tasks.empty()) return false;
    auto store = cache.get();
    if (!store) return fail(store.error());
    registry::RegistryClient client(o.registry);
    std::vector<common::oci::LockedImage> resolved(tasks.size());
    auto done = http::for_each_parallel(tasks.size(), o.registry.jobs, [&](http::Client& http, std::size_t i) -> Result<void> {
        const ImageTask& t = tasks[i];
        auto image = registry::resolve_image(client, http, t.spec->ref, t.spec->reference, t.manifest_ref, t.want, **store);
        if (!image) return fail(image.error().wrap(fmt::format("{}: lock image {}", t.spec->where, t.spec->ref)));
        resolved[i] = std::move(*image);
        return {};
    });
    if (!done) return fail(done.error());
    for (common::oci::LockedImage& image : resolved) lock.put(std::move(image));
    report.images_pinned += tasks.size();
    return true;
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
    std::filesystem::path images_path = o.workdir / "images.lock";
    auto images = manifest::ImagesLock::load(images_path);
    if (!images) return fail(images.error());

    if (!o.check_only) {
        // Temp files of killed locks beside the locks (a concurrent lock's temp is flocked: kept).
        TRY_VOID(common::io::remove_stale_temps(binaries_path));
        TRY_VOID(common::io::remove_stale_temps(debs_path));
        TRY_VOID(common::io::remove_stale_temps(images_path));
    }
    LockReport report;
    LazyCache cache(o.cache);
    auto binaries_changed = lock_binaries(o, *manifests, *binaries, cache, fetcher, report);
    if (!binaries_changed) return fail(binaries_changed.error());
    auto debs_changed = lock_debs(o, *manifests, *debs, cache, fetcher, report);
    if (!debs_changed) return fail(debs_changed.error());
    auto images_changed = lock_images(o, *manifests, *images, cache, report);
    if (!images_changed) return fail(images_changed.error());
    if (o.check_only) {
        if (!report.problems.empty())
            return fail(Errc::failed_precondition, "the locks disagree with the manifests of profile {}:\n  {}", o.profile,
                        fmt::join(report.problems, "\n  "));
        return report;
    }
    // The files are written only once everything resolved: a failed lock changes none of them.
    if (*binaries_changed) TRY_VOID(common::io::write_file_atomic(binaries_path, binaries->to_yaml()));
    if (*debs_changed) TRY_VOID(common::io::write_file_atomic(debs_path, debs->to_yaml()));
    if (*images_changed) TRY_VOID(common::io::write_file_atomic(images_path, images->to_yaml()));
    return report;
}

} // namespace bundler::build
