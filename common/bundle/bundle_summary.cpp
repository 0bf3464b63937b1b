// SPDX-License-Identifier: Apache-2.0
#include <common/bundle/bundle_summary.hpp>

#include <common/util/progress.hpp>

#include <fmt/format.h>

namespace common::bundle {

std::string describe(const BundleFile& file, const BundleIndex& index)
{
    const Trailer& t = file.trailer();
    std::string out;
    auto line = [&](std::string_view key, const std::string& value) { out += fmt::format("{:<10} {}\n", key, value); };
    line("file:", fmt::format("{} ({})", file.path().string(), human_bytes(file.file_size())));
    line("format:", std::to_string(t.format_version));
    line("profile:", index.profile + " " + index.version);
    if (!index.description.empty()) line("", index.description);
    line("created:", std::to_string(index.created) + " (SOURCE_DATE_EPOCH)");
    line("installer:", fmt::format("{} bytes, {}", t.installer_size, t.installer_sha256.str()));
    line("payload:", fmt::format("{} bytes at offset {}, {}", t.payload_size, t.payload_offset, t.payload_sha256.str()));
    line("index:", fmt::format("bundle.json {} bytes, {}", t.bundle_json_size, t.bundle_json_sha256.str()));
    line("signed:", file.signer() ? fmt::format("yes, by {} (signature verified)", file.signer()->str()) : std::string("no"));
    for (const Platform& p : index.platforms) line("platform:", p.os + " " + p.release + " " + p.arch);
    for (const auto& [role, plan] : index.roles)
        line("role:", fmt::format("{}: {} (min {} CPU, {} GB memory, {} GB disk)", role, fmt::join(plan.phases, " -> "),
                                  plan.minima.cpus, plan.minima.memory_gb, plan.minima.disk_gb));
    line("files:", std::to_string(index.files.size()));
    for (const auto& [target, debs] : index.debs) line("debs:", fmt::format("{} for {}", debs.size(), target));
    line("images:", std::to_string(index.images.size()));
    if (!index.addons.empty()) line("addons:", std::to_string(index.addons.size()));
    line("blobs:", fmt::format("{} ({})", index.blobs.size(), human_bytes(index.total_blob_bytes())));
    return out;
}

std::string list_artifacts(const BundleIndex& index)
{
    std::string out;
    for (const FileEntry& f : index.files)
        out += fmt::format("file  {:<20} {:<36} {:04o} {:>10}  {}  roles: {}\n", f.name, f.install, f.mode,
                           human_bytes(f.blob.size), f.blob.digest.str(), f.roles.empty() ? "all" : fmt::format("{}", fmt::join(f.roles, ",")));
    for (const auto& [target, debs] : index.debs)
        for (const DebEntry& d : debs)
            out += fmt::format("deb   {:<20} {:<36} {:>10}  {}  target: {}\n", d.name, d.version, human_bytes(d.blob.size), d.blob.digest.str(), target);
    for (const oci::LockedImage& image : index.images) {
        std::uint64_t bytes = 0;
        for (const oci::Descriptor& d : image.blobs()) bytes += d.size;
        std::vector<std::string> platforms, uses;
        for (const oci::ImagePlatform& p : image.platforms) platforms.push_back(p.platform.str());
        if (image.import) uses.push_back("import");
        if (image.airgap) uses.push_back("airgap");
        out += fmt::format("image {}{} {:>10}  {}  platforms: {}{}\n", image.name, image.tag.empty() ? "" : ":" + image.tag, human_bytes(bytes),
                           image.top.digest.str(), fmt::join(platforms, ","), uses.empty() ? "" : fmt::format("  ({})", fmt::join(uses, ", ")));
    }
    for (const AddonEntry& a : index.addons)
        out += fmt::format("addon {:<20} {:<36} {:>10}  {}  {}\n", a.name, to_string(a.kind), human_bytes(a.blob.size), a.blob.digest.str(),
                           a.kind == AddonKind::chart ? "namespace: " + a.target_namespace : a.source);
    for (const store::BlobRef& b : index.blobs) out += fmt::format("blob  {}  {}\n", b.digest.str(), b.size);
    return out;
}

} // namespace common::bundle
