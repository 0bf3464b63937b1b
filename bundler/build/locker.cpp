// SPDX-License-Identifier: Apache-2.0
#include <bundler/build/locker.hpp>

#include <common/io/file.hpp>
#include <common/manifest/binaries_lock.hpp>
#include <common/manifest/manifests.hpp>

#include <algorithm>

namespace bundler::build {

using common::Errc;
using common::fail;

Result<LockReport> lock(const LockOptions& o, fetch::Fetcher& fetcher)
{
    auto manifests = common::manifest::load_manifests(o.workdir / "manifests", o.profile);
    if (!manifests) return fail(manifests.error());
    std::filesystem::path lock_path = o.workdir / "binaries.lock";
    auto lock = common::manifest::BinariesLock::load(lock_path);
    if (!lock) return fail(lock.error());

    LockReport report;
    std::optional<common::store::BlobStore> cache;
    for (const common::manifest::Component& c : manifests->components) {
        for (const common::manifest::FileSpec& f : c.files) {
            std::optional<common::digest::Digest> published;
            if (f.published_sha256) published = *common::digest::Digest::parse(*f.published_sha256);
            common::manifest::BinaryPin* pin = lock->find(f.url);
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
            if (!cache) {
                auto opened = common::store::BlobStore::open(o.cache);
                if (!opened) return fail(opened.error().wrap("open cache"));
                cache = std::move(*opened);
            }
            auto got = fetch::fetch_unpinned(fetcher, *cache, f.url, o.mirrors);
            if (!got) return fail(got.error());
            if (published && got->digest != *published)
                return fail(Errc::digest_mismatch, "{}: {}: {} has sha256 {}, but the published sha256 is {}", f.where,
                            f.name, f.url, got->digest.str(), published->str());
            std::string effective = fetch::apply_mirrors(f.url, o.mirrors);
            std::string source = published ? f.published_source + " (checked against the download)"
                                           : "sha256 of what " + effective + " served to bundler lock";
            common::manifest::BinaryPin fresh{f.url, f.name, *got, source};
            if (pin) *pin = fresh;
            else lock->pins.push_back(fresh);
            ++report.pinned;
        }
    }
    if (o.check_only) {
        if (!report.problems.empty())
            return fail(Errc::failed_precondition, "{} disagrees with the manifests of profile {}:\n  {}",
                        lock_path.string(), o.profile, fmt::join(report.problems, "\n  "));
        return report;
    }
    if (report.pinned > 0) TRY_VOID(common::io::write_file_atomic(lock_path, lock->to_yaml()));
    return report;
}

} // namespace bundler::build
