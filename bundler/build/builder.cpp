// SPDX-License-Identifier: Apache-2.0
#include <bundler/build/builder.hpp>

#include <common/bundle/bundle_writer.hpp>
#include <common/manifest/target.hpp>
#include <common/io/file.hpp>
#include <common/util/failpoint.hpp>
#include <common/util/progress.hpp>

#include <algorithm>
#include <cstring>
#include <cerrno>
#include <map>
#include <optional>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace bundler::build {

namespace fs = std::filesystem;
using common::Errc;
using common::fail;
namespace bundle = common::bundle;
namespace io = common::io;
namespace store = common::store;
namespace digest = common::digest;

namespace {

// Removes the temporary output unless released.
struct TempGuard {
    std::string path;
    ~TempGuard()
    {
        if (!path.empty()) ::unlink(path.c_str());
    }
};

} // namespace

Result<bundle::BundleIndex> plan_bundle(const common::manifest::Manifests& manifests,
                                        const common::manifest::BinariesLock& lock, const common::manifest::DebsLock& debs,
                                        std::int64_t created)
{
    const common::manifest::Profile& p = manifests.profile;
    bundle::BundleIndex idx;
    idx.profile = p.name;
    idx.version = p.version;
    idx.description = p.description;
    idx.created = created;
    idx.platforms = p.platforms;
    idx.roles = p.roles;
    std::map<digest::Digest, store::BlobRef> blobs;
    std::map<std::pair<std::string, std::string>, std::string> installs; // (role, path) -> where
    for (const common::manifest::Component& c : manifests.components) {
        for (const common::manifest::FileSpec& f : c.files) {
            const common::manifest::BinaryPin* pin = lock.find(f.url);
            if (!pin)
                return fail(Errc::failed_precondition, "{}: {}: {} is not pinned in binaries.lock; run `bundler lock --profile {}`",
                            f.where, f.name, f.url, p.name);
            if (const auto& published = f.published_sha256) {
                if (*published != pin->blob.digest)
                    return fail(Errc::digest_mismatch,
                                "{}: {}: binaries.lock pins {} for {} but the manifest's published sha256 is {}", f.where,
                                f.name, pin->blob.digest.str(), f.url, published->str());
            }
            for (const auto& [role, plan] : p.roles) {
                bundle::FileEntry probe;
                probe.roles = f.roles;
                if (!probe.for_role(role)) continue;
                auto [it, fresh] = installs.emplace(std::pair{role, f.install}, f.where);
                if (!fresh)
                    return fail(Errc::invalid_argument, "{}: {}: role {} already installs {} (from {})", f.where, f.name,
                                role, f.install, it->second);
            }
            idx.files.push_back({f.name, c.name, f.url, f.install, f.mode, f.roles, pin->blob});
            blobs.emplace(pin->blob.digest, pin->blob);
        }
    }
    std::vector<std::string> requested = manifests.requested_debs();
    for (const bundle::Platform& platform : requested.empty() ? std::vector<bundle::Platform>{} : p.platforms) {
        std::string target = common::manifest::target_name(platform);
        const common::manifest::TargetPins* pins = debs.find(target);
        if (!pins)
            return fail(Errc::failed_precondition, "debs.lock has no closure for target {}; run `bundler lock --profile {}`",
                        target, p.name);
        if (pins->requested != requested)
            return fail(Errc::failed_precondition,
                        "debs.lock target {} was resolved for [{}] but the manifests request [{}]; run `bundler lock --profile {}`",
                        target, fmt::join(pins->requested, ", "), fmt::join(requested, ", "), p.name);
        std::vector<bundle::DebEntry>& list = idx.debs[target];
        for (const common::manifest::DebPin& d : pins->packages) {
            list.push_back({d.name, d.version, d.architecture, d.path, d.blob});
            blobs.emplace(d.blob.digest, d.blob);
        }
    }
    for (const auto& [d, ref] : blobs) idx.blobs.push_back(ref);
    return idx;
}

Result<BuildResult> build(const BuildOptions& o, fetch::Fetcher& fetcher)
{
    // 0. The signing key first: a bad key should not cost a whole build.
    std::optional<bundle::SigningKey> key;
    if (!o.sign_key.empty()) {
        auto loaded = bundle::SigningKey::load(o.sign_key);
        if (!loaded) return fail(loaded.error().wrap("--sign-key"));
        key.emplace(std::move(*loaded));
    }

    // 1. Inputs: manifests and the pins they must match.
    auto manifests = common::manifest::load_manifests(o.workdir / "manifests", o.profile);
    if (!manifests) return fail(manifests.error());
    auto lock = common::manifest::BinariesLock::load(o.workdir / "binaries.lock");
    if (!lock) return fail(lock.error());
    auto debs = common::manifest::DebsLock::load(o.workdir / "debs.lock");
    if (!debs) return fail(debs.error());
    auto index = plan_bundle(*manifests, *lock, *debs, o.source_date_epoch);
    if (!index) return fail(index.error());
    std::size_t blobs = index->blobs.size();

    // 2. Every pinned artifact into the cache, verified (fetch only what is pinned).
    auto cache = store::BlobStore::open(o.cache);
    if (!cache) return fail(cache.error().wrap("open cache"));
    // Partial downloads of killed runs (never those of a bundler still running: they hold an flock).
    if (auto removed = cache->remove_stale_ingests(); !removed) return fail(removed.error());
    std::set<std::string> fetched;
    for (const bundle::FileEntry& f : index->files) {
        if (!fetched.insert(f.url).second) continue;
        TRY_VOID(fetch_pinned(fetcher, *cache, f.url, o.mirrors, f.blob));
    }
    for (const auto& [target, list] : index->debs) {
        const common::manifest::TargetPins* pins = debs->find(target);
        for (const common::manifest::DebPin& d : pins->packages) {
            if (!fetched.insert(d.url()).second) continue;
            TRY_VOID(fetch_pinned(fetcher, *cache, d.url(), o.mirrors, d.blob));
        }
    }

    // 3. The .run file (common/bundle writes the format: installer, payload, trailer), to a temp file.
    fs::path output = o.output.empty() ? o.workdir / "dist" / fmt::format("platform-installer-{}.run", o.profile) : o.output;
    fs::path out_dir = output.parent_path().empty() ? "." : output.parent_path();
    TRY_VOID(io::make_dirs(out_dir));
    // What killed builds left beside the output and its .sha256 (a live build's temp is flocked: kept).
    TRY_VOID(io::remove_stale_temps(output));
    TRY_VOID(io::remove_stale_temps(output.string() + ".sha256"));
    auto file = io::create_temp_beside(output);
    if (!file) return fail(file.error());
    TempGuard guard{file->path()};

    common::ProgressMeter meter("payload", index->total_blob_bytes());
    bundle::WriteOptions write_options{{o.level, o.threads, o.source_date_epoch}, key ? &*key : nullptr, [&](std::uint64_t done) {
                                           meter.update(done);
                                           common::failpoint("build.blob_written"); // crash tests: a partial output
                                       }};
    auto open_cached = [&](const store::BlobRef& blob) { return io::File::open_read(cache->blob_path(blob.digest).string()); };
    auto written = bundle::write_bundle(o.installer, std::move(*index), open_cached, *file, write_options);
    if (!written) return fail(written.error());
    meter.finish();
    TRY_VOID(file->sync());
    if (::fchmod(file->fd(), 0755) != 0) return common::fail_errno("chmod " + file->path(), errno);

    // 4. Publish the file and its .sha256 atomically (renamed while open: the temp's flock guards it).
    if (::rename(guard.path.c_str(), output.c_str()) != 0)
        return common::fail_errno("rename to " + output.string(), errno);
    guard.path.clear();
    TRY_VOID(file->close());
    TRY_VOID(io::sync_dir(out_dir));
    std::string line = fmt::format("{}  {}\n", written->file_sha256.hex(), output.filename().string());
    if (auto r = io::write_file_atomic(output.string() + ".sha256", line); !r) {
        ::unlink(output.c_str());
        return fail(r.error());
    }
    return BuildResult{output, written->file_sha256, written->file_size, blobs};
}

} // namespace bundler::build
