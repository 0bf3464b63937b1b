// SPDX-License-Identifier: Apache-2.0
#include <bundler/registry/image_resolver.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>

namespace bundler::registry {

using common::Errc;
using common::fail;
namespace oci = common::oci;
namespace store = common::store;

namespace {

// Puts bytes already checked against `d` into the cache (a copy already there counts as done).
Result<void> put_bytes(const store::BlobStore& cache, const oci::Descriptor& d, std::string_view bytes)
{
    store::BlobRef ref{d.digest, d.size};
    if (cache.contains(ref) && cache.verify(ref)) return {};
    auto ingest = cache.begin(ref);
    if (!ingest) return fail(ingest.error());
    TRY_VOID(ingest->write(std::as_bytes(std::span(bytes.data(), bytes.size()))));
    return ingest->commit();
}

bool real_platform(const std::optional<oci::Platform>& p)
{
    return p && !p->os.empty() && !p->architecture.empty() && p->os != "unknown" && p->architecture != "unknown";
}

// A platform manifest by digest: its bytes checked against the index entry, parsed, cached.
Result<oci::ImagePlatform> resolve_platform(RegistryClient& registry, http::Client& client, const oci::Reference& reference,
                                            const oci::Descriptor& entry, const store::BlobStore& cache)
{
    auto got = registry.get_manifest(client, reference, entry.digest.str());
    if (!got) return fail(got.error());
    if (got->descriptor.size != entry.size)
        return fail(Errc::size_mismatch, "manifest {}@{}: size mismatch: got {} bytes, the index says {}", reference.name(),
                    entry.digest.str(), got->descriptor.size, entry.size);
    auto parsed = oci::parse_manifest(got->bytes, entry.media_type.empty() ? got->descriptor.media_type : entry.media_type);
    if (!parsed) return fail(parsed.error().wrap(fmt::format("manifest {}@{}", reference.name(), entry.digest.str())));
    if (parsed->index())
        return fail(Errc::unsupported, "manifest {}@{}: an index inside an index is not supported", reference.name(), entry.digest.str());
    oci::Descriptor manifest{parsed->media_type, entry.digest, entry.size, std::nullopt};
    TRY_VOID(put_bytes(cache, manifest, got->bytes));
    TRY_VOID(registry.fetch_to_cache(client, reference, parsed->config, Kind::blob, cache));
    return oci::ImagePlatform{*entry.platform, manifest, parsed->config, parsed->layers};
}

} // namespace

std::vector<oci::Platform> image_platforms(const std::vector<common::bundle::Platform>& platforms)
{
    std::vector<oci::Platform> out;
    for (const common::bundle::Platform& p : platforms) {
        oci::Platform want = oci::Platform::from_dpkg_arch(p.arch);
        if (std::none_of(out.begin(), out.end(), [&](const oci::Platform& o) { return o.serves(want); })) out.push_back(want);
    }
    return out;
}

Result<std::vector<oci::Descriptor>> select_platforms(const oci::Manifest& index, const std::vector<oci::Platform>& want,
                                                      std::string_view image)
{
    std::vector<oci::Descriptor> out;
    for (const oci::Platform& w : want) {
        auto it = std::find_if(index.manifests.begin(), index.manifests.end(),
                               [&](const oci::Descriptor& d) { return real_platform(d.platform) && d.platform->serves(w); });
        if (it == index.manifests.end()) {
            std::vector<std::string> has;
            for (const oci::Descriptor& d : index.manifests)
                if (real_platform(d.platform)) has.push_back(d.platform->str());
            return fail(Errc::not_found, "image {} has no {} manifest: its index has {}", image, w.str(),
                        has.empty() ? std::string("no platforms") : fmt::format("{}", fmt::join(has, ", ")));
        }
        if (std::none_of(out.begin(), out.end(), [&](const oci::Descriptor& d) { return d.digest == it->digest; })) out.push_back(*it);
    }
    return out;
}

Result<oci::Platform> config_platform(std::string_view config_json)
{
    try {
        nlohmann::json j = nlohmann::json::parse(config_json);
        oci::Platform p{j.value("os", ""), j.value("architecture", ""), j.value("variant", "")};
        if (p.os.empty() || p.architecture.empty()) return fail(Errc::corrupt, "image config names no os and architecture");
        return p;
    } catch (const std::exception& e) {
        return fail(Errc::corrupt, "image config is not JSON: {}", e.what());
    }
}

Result<oci::LockedImage> resolve_image(RegistryClient& registry, http::Client& client, const std::string& ref,
                                       const oci::Reference& reference, std::string_view manifest_ref,
                                       const std::vector<oci::Platform>& want, const store::BlobStore& cache)
{
    std::string image = reference.name() + (reference.tag.empty() ? "" : ":" + reference.tag);
    auto top = registry.get_manifest(client, reference, manifest_ref);
    if (!top) return fail(top.error());
    if (reference.digest && top->descriptor.digest != *reference.digest)
        return fail(Errc::digest_mismatch, "image {}: the registry served {}, the reference names {}", ref,
                    top->descriptor.digest.str(), reference.digest->str());
    auto parsed = oci::parse_manifest(top->bytes, top->descriptor.media_type);
    if (!parsed) return fail(parsed.error().wrap(fmt::format("image {}", image)));
    oci::LockedImage locked;
    locked.ref = ref;
    locked.name = reference.name();
    locked.tag = reference.tag;
    locked.top = top->descriptor;
    locked.top.media_type = parsed->media_type;
    TRY_VOID(put_bytes(cache, locked.top, top->bytes));
    if (parsed->index()) {
        auto entries = select_platforms(*parsed, want, image);
        if (!entries) return fail(entries.error());
        for (const oci::Descriptor& entry : *entries) {
            auto p = resolve_platform(registry, client, reference, entry, cache);
            if (!p) return fail(p.error().wrap(fmt::format("image {}", image)));
            locked.platforms.push_back(std::move(*p));
        }
        return locked;
    }
    // A single manifest serves only the platform its config declares.
    auto config = registry.get_small_blob(client, reference, parsed->config);
    if (!config) return fail(config.error().wrap(fmt::format("image {}", image)));
    auto platform = config_platform(*config);
    if (!platform) return fail(platform.error().wrap(fmt::format("image {}: config {}", image, parsed->config.digest.str())));
    for (const oci::Platform& w : want)
        if (!platform->serves(w))
            return fail(Errc::not_found, "image {} has no {} manifest: it is a single-platform image for {}", image, w.str(),
                        platform->str());
    TRY_VOID(put_bytes(cache, parsed->config, *config));
    locked.platforms.push_back({*platform, locked.top, parsed->config, parsed->layers});
    return locked;
}

} // namespace bundler::registry
