// SPDX-License-Identifier: Apache-2.0
#include <bundler/build/builder.hpp>

#include <bundler/build/addon_images.hpp>

#include <bundler/registry/image_fetcher.hpp>
#include <common/deb/packages_index.hpp>
#include <common/manifest/target.hpp>
#include <bundler/registry/image_resolver.hpp>
#include <common/bundle/bundle_writer.hpp>
#include <common/manifest/target.hpp>
#include <common/io/file.hpp>
#include <common/util/failpoint.hpp>
#include <common/util/progress.hpp>

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <array>
#include <memory>
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

// The index's blob list again from what it names (files, debs, images, addons), each once by digest.
void recount_blobs(bundle::BundleIndex& index)
{
    std::map<digest::Digest, store::BlobRef> all;
    for (const bundle::FileEntry& f : index.files) all.emplace(f.blob.digest, f.blob);
    for (const auto& [target, list] : index.debs)
        for (const bundle::DebEntry& d : list) all.emplace(d.blob.digest, d.blob);
    for (const common::oci::LockedImage& image : index.images)
        for (const common::oci::Descriptor& d : image.blobs()) all.emplace(d.digest, store::BlobRef{d.digest, d.size});
    for (const bundle::AddonEntry& a : index.addons) all.emplace(a.blob.digest, a.blob);
    index.blobs.clear();
    for (const auto& [d, ref] : all) index.blobs.push_back(ref);
}

} // namespace

Result<std::vector<common::oci::LockedImage>> plan_images(const common::manifest::Manifests& manifests,
                                                          const common::manifest::ImagesLock& images)
{
    const common::manifest::Profile& p = manifests.profile;
    std::vector<common::oci::Platform> want = registry::image_platforms(p.platforms);
    std::vector<common::oci::LockedImage> out;
    for (const common::manifest::ImageSpec& spec : manifests.requested_images()) {
        const common::oci::LockedImage* pin = images.find(spec.ref);
        std::string rerun = fmt::format("run `bundler lock --profile {}`", p.name);
        if (!pin)
            return fail(Errc::failed_precondition, "{}: image {} is not pinned in images.lock; {}", spec.where, spec.ref, rerun);
        if (pin->name != spec.reference.name() || (spec.reference.digest && *spec.reference.digest != pin->top.digest))
            return fail(Errc::failed_precondition, "{}: image {}: images.lock pins {}@{}, which is not what the reference names; {}",
                        spec.where, spec.ref, pin->name, pin->top.digest.str(), rerun);
        common::oci::LockedImage image = *pin;
        image.platforms.clear();
        for (const common::oci::Platform& w : want) {
            const common::oci::ImagePlatform* found = common::manifest::find_platform(*pin, w);
            if (!found) {
                std::vector<std::string> has;
                for (const common::oci::ImagePlatform& ip : pin->platforms) has.push_back(ip.platform.str());
                return fail(Errc::failed_precondition, "{}: image {} is pinned in images.lock for {} but profile {} needs {}; {}",
                            spec.where, spec.ref, fmt::join(has, ", "), p.name, w.str(), rerun);
            }
            if (std::none_of(image.platforms.begin(), image.platforms.end(),
                             [&](const common::oci::ImagePlatform& ip) { return ip.manifest.digest == found->manifest.digest; }))
                image.platforms.push_back(*found);
        }
        image.import = spec.import;
        image.airgap = spec.airgap;
        image.roles = spec.roles;
        out.push_back(std::move(image));
    }
    return out;
}

Result<bundle::BundleIndex> plan_bundle(const common::manifest::Manifests& manifests,
                                        const common::manifest::BinariesLock& lock, const common::manifest::DebsLock& debs,
                                        std::int64_t created)
{
    return plan_bundle(manifests, lock, debs, common::manifest::ImagesLock{}, created);
}

std::string missing_pins(const common::manifest::Manifests& manifests, const common::manifest::BinariesLock& lock,
                         const common::manifest::DebsLock& debs, const common::manifest::ImagesLock& images)
{
    const common::manifest::Profile& p = manifests.profile;
    std::vector<std::string> requested = manifests.requested_debs();
    std::vector<std::string> unresolved; // why a target's closure does not serve (missing, or for other packages)
    for (const bundle::Platform& platform : requested.empty() ? std::vector<bundle::Platform>{} : p.platforms) {
        std::string target = common::manifest::target_name(platform);
        const common::manifest::TargetPins* pins = debs.find(target);
        if (!pins) unresolved.push_back(fmt::format("debs.lock has no closure for target {}", target));
        else if (pins->requested != requested)
            unresolved.push_back(fmt::format("debs.lock target {} was resolved for [{}], the manifests request [{}]", target,
                                             fmt::join(pins->requested, ", "), fmt::join(requested, ", ")));
    }
    std::string out;
    std::size_t count = 0;
    for (const common::manifest::Component& c : manifests.components) {
        std::vector<std::string> lines;
        for (const common::manifest::FileSpec* f : c.pinned_files())
            if (common::manifest::for_arch(*f, p.platforms.front().arch) && !lock.find(f->url))
                lines.push_back(fmt::format("    {}: {}: {} is not pinned in binaries.lock", f->where, f->name, f->url));
        for (const common::manifest::ImageSpec& image : c.images)
            if (!images.find(image.ref)) lines.push_back(fmt::format("    {}: image {} is not pinned in images.lock", image.where, image.ref));
        if (!c.deb_requests.empty())
            for (const std::string& why : unresolved) lines.push_back("    " + why);
        if (lines.empty()) continue;
        count += lines.size();
        out += fmt::format("  component {} ({}):\n{}\n", c.name, c.path, fmt::join(lines, "\n"));
    }
    if (out.empty()) return out;
    return fmt::format("{} pin{} missing for profile {} ({}); run `bundler lock --profile {}` on a machine that reaches the sources "
                       "(README: \"The shipped profiles\"):\n{}",
                       count, count == 1 ? " is" : "s are", p.name, p.platforms.front().arch, p.name, out);
}

Result<bundle::BundleIndex> plan_bundle(const common::manifest::Manifests& manifests,
                                        const common::manifest::BinariesLock& lock, const common::manifest::DebsLock& debs,
                                        const common::manifest::ImagesLock& images, std::int64_t created)
{
    const common::manifest::Profile& p = manifests.profile;
    // Files for one architecture (binaries built per arch) make a bundle for one: the installer it carries runs
    // on one too. Without such files a profile may list several (images for every platform, served).
    bool arch_files = std::any_of(manifests.components.begin(), manifests.components.end(), [](const common::manifest::Component& c) {
        return std::any_of(c.files.begin(), c.files.end(), [](const common::manifest::FileSpec& f) { return !f.arches.empty(); });
    });
    if (std::vector<std::string> arches = p.arches(); arches.size() > 1 && arch_files)
        return fail(Errc::invalid_argument, "profile {} has platforms for {} and files for one architecture each: build one .run per "
                    "architecture (--arch {})", p.name, fmt::join(arches, " and "), arches.front());
    if (std::string missing = missing_pins(manifests, lock, debs, images); !missing.empty())
        return fail(Errc::failed_precondition, "{}", missing);
    bundle::BundleIndex idx;
    idx.profile = p.name;
    idx.version = p.version;
    idx.description = p.description;
    idx.created = created;
    idx.platforms = p.platforms;
    idx.roles = p.roles;
    // Every pin is there (missing_pins): a checksum the manifest cites must be the one pinned.
    for (const common::manifest::Component& c : manifests.components)
        for (const common::manifest::FileSpec* f : c.pinned_files()) {
            if (!common::manifest::for_arch(*f, p.platforms.front().arch) || !f->published_sha256) continue;
            const common::manifest::BinaryPin* pin = lock.find(f->url);
            if (*f->published_sha256 != pin->blob.digest)
                return fail(Errc::digest_mismatch, "{}: {}: binaries.lock pins {} for {} but the manifest's published sha256 is {}",
                            f->where, f->name, pin->blob.digest.str(), f->url, f->published_sha256->str());
        }
    std::map<std::pair<std::string, std::string>, std::string> installs; // (role, path) -> where
    for (const common::manifest::Component& c : manifests.components) {
        for (const common::manifest::FileSpec& f : c.files) {
            if (!common::manifest::for_arch(f, p.platforms.front().arch)) continue;
            for (const auto& [role, plan] : p.roles) {
                bundle::FileEntry probe;
                probe.roles = f.roles;
                if (!probe.for_role(role)) continue;
                auto [it, fresh] = installs.emplace(std::pair{role, f.install}, f.where);
                if (!fresh)
                    return fail(Errc::invalid_argument, "{}: {}: role {} already installs {} (from {})", f.where, f.name,
                                role, f.install, it->second);
            }
            idx.files.push_back({f.name, c.name, f.url, f.install, f.mode, f.roles, lock.find(f.url)->blob, f.extract});
        }
    }
    std::vector<std::string> requested = manifests.requested_debs();
    for (const bundle::Platform& platform : requested.empty() ? std::vector<bundle::Platform>{} : p.platforms) {
        std::string target = common::manifest::target_name(platform);
        std::vector<bundle::DebEntry>& list = idx.debs[target];
        for (const common::manifest::DebPin& d : debs.find(target)->packages)
            list.push_back({d.name, d.version, d.architecture, d.path, d.blob});
    }
    if (!requested.empty()) idx.deb_requests = manifests.deb_requests();
    for (const common::manifest::Component& c : manifests.components) {
        for (const common::manifest::AddonSpec& a : c.addons) {
            store::BlobRef blob = a.remote ? lock.find(a.remote->url)->blob
                                           : store::BlobRef{digest::sha256_of(std::as_bytes(std::span(a.local_content.data(), a.local_content.size()))),
                                                            a.local_content.size()};
            idx.addons.push_back({a.name, c.name, a.kind, a.source(), a.target_namespace, a.values, blob});
        }
    }
    auto planned = plan_images(manifests, images);
    if (!planned) return fail(planned.error());
    idx.images = std::move(*planned);
    recount_blobs(idx);
    return idx;
}

namespace {

// Stores `bytes` in the cache and returns its blob.
Result<store::BlobRef> cache_bytes(const store::BlobStore& cache, std::string_view bytes)
{
    auto ingest = cache.begin_unknown();
    if (!ingest) return fail(ingest.error());
    TRY_VOID(ingest->write(std::as_bytes(std::span(bytes.data(), bytes.size()))));
    return ingest->commit_as_written();
}

// Packages and Packages.gz of every target's closure (pool/<file name>, docs/formats.md), from the
// .debs in the cache; listed in the index's blobs.
Result<void> add_apt_indexes(bundle::BundleIndex& index, const store::BlobStore& cache)
{
    for (const auto& [target, list] : index.debs) {
        auto platform = std::find_if(index.platforms.begin(), index.platforms.end(),
                                     [&](const bundle::Platform& p) { return common::manifest::target_name(p) == target; });
        if (platform == index.platforms.end()) return fail(Errc::failed_precondition, "debs of {}: no platform of the profile", target);
        std::vector<std::string> stanzas;
        for (const bundle::DebEntry& d : list) {
            fs::path file = cache.blob_path(d.blob.digest);
            std::string name = fs::path(d.filename).filename().string();
            auto control = common::deb::read_control(file);
            if (!control) return fail(control.error().wrap(fmt::format("{} ({})", name, target)));
            auto info = common::deb::deb_file_info(file, "pool/" + name);
            if (!info) return fail(info.error().wrap(name));
            auto stanza = common::deb::packages_stanza(*control, *info);
            if (!stanza) return fail(stanza.error().wrap(name));
            stanzas.push_back(std::move(*stanza));
        }
        std::string packages = common::deb::packages_file(std::move(stanzas));
        auto gz = common::deb::gzip_bytes(packages);
        if (!gz) return fail(gz.error());
        auto plain = cache_bytes(cache, packages);
        if (!plain) return fail(plain.error().wrap("Packages of " + target));
        auto packed = cache_bytes(cache, *gz);
        if (!packed) return fail(packed.error().wrap("Packages.gz of " + target));
        auto xz = common::deb::xz_bytes(packages);
        if (!xz) return fail(xz.error());
        auto packed_xz = cache_bytes(cache, *xz);
        if (!packed_xz) return fail(packed_xz.error().wrap("Packages.xz of " + target));
        index.apt_indexes[target] = {platform->arch, *plain, *packed, *packed_xz};
        index.blobs.push_back(*plain);
        index.blobs.push_back(*packed);
        index.blobs.push_back(*packed_xz);
    }
    std::sort(index.blobs.begin(), index.blobs.end(), [](const auto& a, const auto& b) { return a.digest < b.digest; });
    index.blobs.erase(std::unique(index.blobs.begin(), index.blobs.end(), [](const auto& a, const auto& b) { return a.digest == b.digest; }),
                      index.blobs.end());
    return {};
}

// The bytes of `member` in the .tar.gz (or plain .tar) at path: what a file with `extract:` installs.
Result<std::string> extract_member(const fs::path& archive_path, const std::string& member, std::string_view url)
{
    std::unique_ptr<archive, decltype(&archive_read_free)> a(archive_read_new(), &archive_read_free);
    archive_read_support_filter_all(a.get());
    archive_read_support_format_tar(a.get());
    if (archive_read_open_filename(a.get(), archive_path.c_str(), 1 << 16) != ARCHIVE_OK)
        return fail(Errc::invalid_argument, "{}: not a tar archive: {}", url, archive_error_string(a.get()));
    std::vector<std::string> seen;
    archive_entry* entry = nullptr;
    for (;;) {
        int r = archive_read_next_header(a.get(), &entry);
        if (r == ARCHIVE_EOF) break;
        if (r != ARCHIVE_OK) return fail(Errc::invalid_argument, "{}: {}", url, archive_error_string(a.get()));
        std::string path = archive_entry_pathname(entry);
        if (path.starts_with("./")) path.erase(0, 2);
        if (path != member) {
            if (seen.size() < 8) seen.push_back(path);
            continue;
        }
        if (archive_entry_filetype(entry) != AE_IFREG) return fail(Errc::invalid_argument, "{}: {} is not a regular file", url, member);
        if (archive_entry_size(entry) > (std::int64_t{1} << 30)) return fail(Errc::invalid_argument, "{}: {} is over 1 GiB", url, member);
        std::string bytes(static_cast<std::size_t>(archive_entry_size(entry)), '\0');
        if (archive_read_data(a.get(), bytes.data(), bytes.size()) != static_cast<la_ssize_t>(bytes.size()))
            return fail(Errc::invalid_argument, "{}: {}: {}", url, member, archive_error_string(a.get()));
        return bytes;
    }
    return fail(Errc::not_found, "{} holds no {} (it holds: {}{})", url, member, fmt::join(seen, ", "), seen.size() == 8 ? ", ..." : "");
}

// The dpkg architecture an ELF executable is for (from e_machine), or empty when it is none we know.
Result<std::string> elf_arch(const fs::path& path)
{
    auto head = io::File::open_read(path.string());
    if (!head) return fail(head.error().wrap("--installer"));
    std::array<unsigned char, 20> h{};
    auto n = head->read(std::as_writable_bytes(std::span(h)));
    if (!n) return fail(n.error().wrap("--installer " + path.string()));
    if (*n < h.size() || h[0] != 0x7f || h[1] != 'E' || h[2] != 'L' || h[3] != 'F')
        return fail(Errc::invalid_argument, "--installer {}: not an ELF executable", path.string());
    unsigned machine = h[5] == 1 ? (h[18] | (h[19] << 8)) : ((h[18] << 8) | h[19]);
    switch (machine) {
    case 62: return std::string("amd64");
    case 183: return std::string("arm64");
    default: return std::string();
    }
}


} // namespace

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
    if (!o.arch.empty()) {
        auto one = common::manifest::for_arch(std::move(*manifests), o.arch);
        if (!one) return fail(one.error());
        manifests = std::move(*one);
    }
    // The installer runs on the nodes: its architecture must be one the bundle is for (--fetch-only embeds none).
    auto installer_arch = o.fetch_only ? Result<std::string>(manifests->profile.arches().front()) : elf_arch(o.installer);
    if (!installer_arch) return fail(installer_arch.error());
    if (std::vector<std::string> arches = manifests->profile.arches();
        std::find(arches.begin(), arches.end(), *installer_arch) == arches.end())
        return fail(Errc::invalid_argument,
                    "--installer {} is {} but profile {} is for {} nodes: give an installer built for {} (README: arm64 nodes)",
                    o.installer.string(), installer_arch->empty() ? "for an unknown architecture" : "for " + *installer_arch,
                    manifests->profile.name, fmt::join(arches, ", "), arches.front());
    auto lock = common::manifest::BinariesLock::load(o.workdir / "binaries.lock");
    if (!lock) return fail(lock.error());
    auto debs = common::manifest::DebsLock::load(o.workdir / "debs.lock");
    if (!debs) return fail(debs.error());
    auto images = common::manifest::ImagesLock::load(o.workdir / "images.lock");
    if (!images) return fail(images.error());
    auto index = plan_bundle(*manifests, *lock, *debs, *images, o.source_date_epoch);
    if (!index) return fail(index.error());

    // 2. Every pinned artifact into the cache, verified (fetch only what is pinned).
    auto cache = store::BlobStore::open(o.cache);
    if (!cache) return fail(cache.error().wrap("open cache"));
    // Partial downloads of killed runs (never those of a bundler still running: they hold an flock).
    if (auto removed = cache->remove_stale_ingests(); !removed) return fail(removed.error());
    // De-duplicated by digest, not by URL: the same bytes under two URLs are fetched once.
    std::set<digest::Digest> fetched;
    for (const bundle::FileEntry& f : index->files) {
        if (!fetched.insert(f.blob.digest).second) continue;
        TRY_VOID(fetch_pinned(fetcher, *cache, f.url, o.mirrors, f.blob));
    }
    // A file taken out of a downloaded archive (helm, the registry): the member is what the bundle carries,
    // its digest computed here from the pinned archive.
    for (bundle::FileEntry& f : index->files) {
        if (f.extract.empty()) continue;
        auto bytes = extract_member(cache->blob_path(f.blob.digest), f.extract, f.url);
        if (!bytes) return fail(bytes.error());
        auto blob = cache_bytes(*cache, *bytes);
        if (!blob) return fail(blob.error().wrap(fmt::format("{} of {}", f.extract, f.url)));
        f.blob = *blob;
    }
    recount_blobs(*index);
    for (const auto& [target, list] : index->debs) {
        const common::manifest::TargetPins* pins = debs->find(target);
        for (const common::manifest::DebPin& d : pins->packages) {
            if (!fetched.insert(d.blob.digest).second) continue;
            TRY_VOID(fetch_pinned(fetcher, *cache, d.url(), o.mirrors, d.blob));
        }
    }
    // Addons: files of the manifests folder into the cache, URLs fetched by their pins; then every image
    // an addon names must be one the bundle carries (a node has no other registry to pull from).
    for (const common::manifest::Component& c : manifests->components)
        for (const common::manifest::AddonSpec& a : c.addons) {
            if (a.remote) {
                const common::manifest::BinaryPin* pin = lock->find(a.remote->url);
                if (!fetched.insert(pin->blob.digest).second) continue;
                TRY_VOID(fetch_pinned(fetcher, *cache, a.remote->url, o.mirrors, pin->blob));
            } else {
                auto blob = cache_bytes(*cache, a.local_content);
                if (!blob) return fail(blob.error().wrap(fmt::format("addon {} ({})", a.name, a.local_path)));
            }
        }
    TRY_VOID(check_addon_images(*manifests, *index, *cache));
    // Each target's apt indexes, made from its .debs as apt-ftparchive writes them; blobs like any other.
    TRY_VOID(add_apt_indexes(*index, *cache));

    // Images by digest only (never a tag), each blob once, in parallel.
    if (!index->images.empty()) {
        registry::RegistryClient client(o.registry);
        auto got = registry::fetch_images(client, index->images, *cache);
        if (!got) return fail(got.error());
    }
    // Counted now that the apt indexes are in (write_bundle takes the index).
    std::size_t blobs = index->blobs.size();
    std::uint64_t blob_bytes = index->total_blob_bytes();
    if (o.fetch_only) return BuildResult{{}, {}, 0, blobs, blob_bytes};

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
    return BuildResult{output, written->file_sha256, written->file_size, blobs, blob_bytes};
}

} // namespace bundler::build
