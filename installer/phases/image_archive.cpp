// SPDX-License-Identifier: Apache-2.0
#include <installer/phases/image_archive.hpp>

#include <common/io/string_stream.hpp>
#include <common/io/verifying_stream.hpp>

#include <nlohmann/json.hpp>

namespace installer::phases {

namespace {

using common::Result;

// A string the source owns.
class OwnedStringSource : public common::io::Source {
public:
    explicit OwnedStringSource(std::string text) : m_text(std::move(text)), m_in(m_text) {}
    Result<std::size_t> read(std::span<std::byte> out) override { return m_in.read(out); }

private:
    std::string m_text;
    common::io::StringSource m_in;
};

// A store blob, checked against its digest as it is read.
class StoredBlobSource : public common::io::Source {
public:
    StoredBlobSource(common::io::File file, const common::oci::Descriptor& d)
        : m_file(std::move(file)), m_in(m_file, {d.digest, d.size}, "stored blob " + m_file.path())
    {
    }
    Result<std::size_t> read(std::span<std::byte> out) override { return m_in.read(out); }

private:
    common::io::File m_file;
    common::io::VerifyingSource m_in;
};

common::io::TarEntry text_entry(std::string name, std::string text)
{
    std::uint64_t size = text.size();
    return {std::move(name), size, [text = std::move(text)]() -> Result<std::unique_ptr<common::io::Source>> {
                return std::make_unique<OwnedStringSource>(text);
            }};
}

} // namespace

std::string containerd_name(const common::oci::LockedImage& image)
{
    return image.tag.empty() ? image.name + "@" + image.top.digest.str() : image.name + ":" + image.tag;
}

std::string archive_file_name(const common::oci::LockedImage& image)
{
    std::string out = containerd_name(image);
    for (char& c : out)
        if (c == '/' || c == ':' || c == '@') c = '_';
    return out + ".tar";
}

std::vector<common::io::TarEntry> image_archive(const common::oci::LockedImage& image, const common::store::BlobStore& store)
{
    nlohmann::json annotations{{"io.containerd.image.name", containerd_name(image)}};
    if (!image.tag.empty()) annotations["org.opencontainers.image.ref.name"] = image.tag;
    nlohmann::json index{{"schemaVersion", 2},
                         {"mediaType", common::oci::media::oci_index},
                         {"manifests",
                          {{{"mediaType", image.top.media_type},
                            {"digest", image.top.digest.str()},
                            {"size", image.top.size},
                            {"annotations", annotations}}}}};
    std::vector<common::io::TarEntry> entries{text_entry("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}"),
                                              text_entry("index.json", index.dump())};
    for (const common::oci::Descriptor& d : image.blobs()) {
        std::string path = store.blob_path(d.digest).string();
        entries.push_back({"blobs/sha256/" + d.digest.hex(), d.size, [path, d]() -> Result<std::unique_ptr<common::io::Source>> {
                               auto file = common::io::File::open_read(path);
                               if (!file) return common::fail(file.error());
                               return std::make_unique<StoredBlobSource>(std::move(*file), d);
                           }});
    }
    return entries;
}

} // namespace installer::phases
