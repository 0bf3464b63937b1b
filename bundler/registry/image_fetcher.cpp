// SPDX-License-Identifier: Apache-2.0
#include <bundler/registry/image_fetcher.hpp>

#include <bundler/http/parallel.hpp>
#include <common/util/progress.hpp>

#include <atomic>
#include <mutex>
#include <set>

namespace bundler::registry {

using common::fail;
namespace oci = common::oci;

std::vector<ImageBlob> image_blobs(const std::vector<oci::LockedImage>& images)
{
    std::vector<ImageBlob> out;
    std::set<common::digest::Digest> seen;
    for (const oci::LockedImage& image : images) {
        auto repo = oci::Reference::parse(image.name);
        if (!repo) continue; // names come from a parsed lock; a bad one fails in the build's plan first
        auto add = [&](const oci::Descriptor& d, Kind kind) {
            if (seen.insert(d.digest).second) out.push_back({*repo, d, kind});
        };
        add(image.top, Kind::manifest);
        for (const oci::ImagePlatform& p : image.platforms) {
            add(p.manifest, Kind::manifest);
            add(p.config, Kind::blob);
            for (const oci::Descriptor& l : p.layers) add(l, Kind::blob);
        }
    }
    return out;
}

Result<FetchReport> fetch_images(RegistryClient& registry, const std::vector<oci::LockedImage>& images,
                                 const common::store::BlobStore& cache)
{
    std::vector<ImageBlob> blobs = image_blobs(images);
    FetchReport report;
    report.blobs = blobs.size();
    std::vector<std::size_t> missing;
    for (std::size_t i = 0; i < blobs.size(); ++i) {
        if (cache.contains({blobs[i].descriptor.digest, blobs[i].descriptor.size})) continue;
        missing.push_back(i);
        report.fetched_bytes += blobs[i].descriptor.size;
    }
    report.fetched = missing.size();
    // Cached blobs are re-hashed by fetch_to_cache too ("exists with the right size" is not proof).
    std::mutex mutex;
    std::optional<common::ProgressMeter> meter;
    if (!missing.empty()) meter.emplace(fmt::format("fetch {} image blobs", missing.size()), report.fetched_bytes);
    std::int64_t done = 0;
    ProgressFn progress = [&](std::int64_t delta) {
        std::lock_guard lock(mutex);
        done += delta;
        if (meter) meter->update(static_cast<std::uint64_t>(std::max<std::int64_t>(done, 0)));
    };
    auto r = http::for_each_parallel(blobs.size(), registry.options().jobs, [&](http::Client& client, std::size_t i) {
        return registry.fetch_to_cache(client, blobs[i].repo, blobs[i].descriptor, blobs[i].kind, cache, progress);
    });
    if (!r) return fail(r.error());
    if (meter) meter->finish();
    return report;
}

} // namespace bundler::registry
