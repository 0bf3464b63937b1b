// SPDX-License-Identifier: Apache-2.0
#include <bundler/build/oci_export.hpp>

#include <common/bundle/bundle_file.hpp>
#include <common/io/file.hpp>
#include <common/util/progress.hpp>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <set>
#include <unistd.h>

namespace bundler::build {

namespace fs = std::filesystem;
using common::Errc;
using common::fail;
namespace bundle = common::bundle;
namespace io = common::io;

namespace {

// One blob of the layout: a temp file in blobs/sha256/, renamed to its digest once the walker checked it.
class LayoutBlobSink : public bundle::BlobSink {
public:
    LayoutBlobSink(io::File file, fs::path final_path) : m_file(std::move(file)), m_final(std::move(final_path)) {}
    ~LayoutBlobSink() override
    {
        if (!m_done) ::unlink(m_file.path().c_str());
    }
    Result<void> write(std::span<const std::byte> data) override { return m_file.write(data); }
    Result<void> commit() override
    {
        TRY_VOID(m_file.sync());
        if (::rename(m_file.path().c_str(), m_final.c_str()) != 0) return common::fail_errno("rename to " + m_final.string(), errno);
        m_done = true;
        return m_file.close();
    }

private:
    io::File m_file;
    fs::path m_final;
    bool m_done = false;
};

Result<void> check_empty(const fs::path& dir)
{
    std::error_code ec;
    if (!fs::exists(dir, ec)) return io::make_dirs(dir);
    if (!fs::is_directory(dir, ec)) return fail(Errc::invalid_argument, "export to {}: not a folder", dir.string());
    if (!fs::is_empty(dir, ec)) return fail(Errc::invalid_argument, "export to {}: the folder is not empty", dir.string());
    return {};
}

std::string ref_name(const common::oci::LockedImage& image)
{
    return image.tag.empty() ? image.name + "@" + image.top.digest.str() : image.name + ":" + image.tag;
}

} // namespace

Result<ExportReport> export_oci(const fs::path& file, const fs::path& dir)
{
    // 1. The bundle's index: which blobs belong to images.
    auto bf = bundle::BundleFile::open(file);
    if (!bf) return fail(bf.error());
    auto index = bf->read_index();
    if (!index) return fail(index.error());
    if (index->images.empty()) return fail(Errc::not_found, "export {}: the bundle holds no images", file.string());
    std::set<common::digest::Digest> wanted;
    for (const common::oci::LockedImage& image : index->images)
        for (const common::oci::Descriptor& d : image.blobs()) wanted.insert(d.digest);

    // 2. One verified pass over the payload, writing the images' blobs.
    TRY_VOID(check_empty(dir));
    fs::path blobs = dir / "blobs" / "sha256";
    TRY_VOID(io::make_dirs(blobs));
    ExportReport report;
    common::ProgressMeter meter("export " + file.filename().string(), bf->trailer().payload_size);
    auto sinks = [&](const common::store::BlobRef& ref) -> Result<std::unique_ptr<bundle::BlobSink>> {
        if (!wanted.contains(ref.digest)) return nullptr;
        auto temp = io::File::create_temp(blobs.string(), ".tmp-");
        if (!temp) return fail(temp.error());
        ++report.blobs;
        report.bytes += ref.size;
        return std::make_unique<LayoutBlobSink>(std::move(*temp), blobs / ref.digest.hex());
    };
    auto walked = bf->walk([&](std::uint64_t done, std::uint64_t) { meter.update(done); }, sinks);
    if (!walked) return fail(walked.error().wrap("export " + file.string()));
    meter.finish();

    // 3. index.json (one entry per name) and oci-layout, the index last: a layout without it is not one.
    nlohmann::json manifests = nlohmann::json::array();
    std::set<std::string> names;
    for (const common::oci::LockedImage& image : walked->index.images) {
        std::string name = ref_name(image);
        if (!names.insert(name).second) continue;
        manifests.push_back({{"mediaType", image.top.media_type},
                             {"digest", image.top.digest.str()},
                             {"size", image.top.size},
                             {"annotations", {{"org.opencontainers.image.ref.name", name}, {"io.containerd.image.name", name}}}});
        ++report.images;
    }
    nlohmann::json layout_index = {{"schemaVersion", 2}, {"mediaType", "application/vnd.oci.image.index.v1+json"}, {"manifests", manifests}};
    TRY_VOID(io::write_file_atomic(dir / "oci-layout", R"({"imageLayoutVersion":"1.0.0"})"));
    TRY_VOID(io::write_file_atomic(dir / "index.json", layout_index.dump()));
    return report;
}

} // namespace bundler::build
