// SPDX-License-Identifier: Apache-2.0
#include <common/manifest/images_lock.hpp>

#include <common/manifest/yaml_reader.hpp>
#include <common/oci/reference.hpp>

#include <algorithm>
#include <set>

namespace common::manifest {

namespace {

void emit_descriptor(YAML::Emitter& out, const oci::Descriptor& d)
{
    out << YAML::Flow << YAML::BeginMap << YAML::Key << "digest" << YAML::Value << d.digest.str() << YAML::Key << "size"
        << YAML::Value << d.size << YAML::Key << "media_type" << YAML::Value << d.media_type << YAML::EndMap;
}

// digest, size and media_type of the mapping n (which may hold other keys: the image's top).
Result<oci::Descriptor> read_descriptor_fields(const YamlReader& y, const YAML::Node& n, const std::string& where)
{
    auto digest_text = y.string(n, "digest", where);
    if (!digest_text) return fail(digest_text.error());
    auto d = digest::Digest::parse(*digest_text);
    if (!d || !digest_text->starts_with("sha256:"))
        return fail(y.error(n["digest"], where + ".digest", "want sha256:<64 lowercase hex digits>"));
    auto size = y.uint(n, "size", where);
    if (!size) return fail(size.error());
    auto media_type = y.string(n, "media_type", where);
    if (!media_type) return fail(media_type.error());
    return oci::Descriptor{*media_type, *d, *size, std::nullopt};
}

Result<oci::Descriptor> read_descriptor(const YamlReader& y, const YAML::Node& n, const std::string& where)
{
    if (!n) return fail(y.error(n, where, "missing"));
    TRY_VOID(y.only_keys(n, where, {"digest", "size", "media_type"}));
    return read_descriptor_fields(y, n, where);
}

Result<oci::ImagePlatform> read_platform(const YamlReader& y, const YAML::Node& n, const std::string& where)
{
    TRY_VOID(y.only_keys(n, where, {"platform", "manifest", "config", "layers"}));
    oci::ImagePlatform p;
    auto text = y.string(n, "platform", where);
    if (!text) return fail(text.error());
    auto platform = oci::Platform::parse(*text);
    if (!platform) return fail(y.error(n["platform"], where + ".platform", platform.error().message));
    p.platform = *platform;
    auto manifest = read_descriptor(y, n["manifest"], where + ".manifest");
    if (!manifest) return fail(manifest.error());
    auto config = read_descriptor(y, n["config"], where + ".config");
    if (!config) return fail(config.error());
    p.manifest = *manifest;
    p.config = *config;
    auto layers = y.list(n, "layers", where);
    if (!layers) return fail(layers.error());
    for (std::size_t i = 0; i < layers->size(); ++i) {
        auto layer = read_descriptor(y, (*layers)[i], fmt::format("{}.layers[{}]", where, i));
        if (!layer) return fail(layer.error());
        p.layers.push_back(*layer);
    }
    return p;
}

Result<oci::LockedImage> read_image(const YamlReader& y, const YAML::Node& n, const std::string& where)
{
    TRY_VOID(y.only_keys(n, where, {"ref", "name", "tag", "digest", "size", "media_type", "platforms"}));
    oci::LockedImage image;
    auto ref = y.string(n, "ref", where);
    auto name = y.string(n, "name", where);
    auto tag = y.string_or(n, "tag", where, "");
    if (!ref) return fail(ref.error());
    if (!name) return fail(name.error());
    if (!tag) return fail(tag.error());
    auto parsed = oci::Reference::parse(*ref);
    if (!parsed) return fail(y.error(n["ref"], where + ".ref", parsed.error().message));
    if (parsed->name() != *name)
        return fail(y.error(n["name"], where + ".name", fmt::format("'{}' is not the name of '{}' ({})", *name, *ref, parsed->name())));
    image.ref = *ref;
    image.name = *name;
    image.tag = *tag;
    auto top = read_descriptor_fields(y, n, where);
    if (!top) return fail(top.error());
    image.top = *top;
    if (parsed->digest && *parsed->digest != image.top.digest)
        return fail(y.error(n["digest"], where + ".digest", fmt::format("is not the digest '{}' names", *ref)));
    auto platforms = y.list(n, "platforms", where);
    if (!platforms) return fail(platforms.error());
    if (platforms->empty()) return fail(y.error(n, where + ".platforms", "missing or empty"));
    for (std::size_t i = 0; i < platforms->size(); ++i) {
        auto p = read_platform(y, (*platforms)[i], fmt::format("{}.platforms[{}]", where, i));
        if (!p) return fail(p.error());
        image.platforms.push_back(std::move(*p));
    }
    return image;
}

} // namespace

const oci::LockedImage* ImagesLock::find(std::string_view ref) const
{
    auto it = std::find_if(images.begin(), images.end(), [&](const oci::LockedImage& i) { return i.ref == ref; });
    return it == images.end() ? nullptr : &*it;
}

void ImagesLock::put(oci::LockedImage image)
{
    image.import = false;
    image.airgap = false;
    image.roles.clear();
    auto it = std::find_if(images.begin(), images.end(), [&](const oci::LockedImage& i) { return i.ref == image.ref; });
    if (it != images.end()) *it = std::move(image);
    else images.push_back(std::move(image));
}

std::string ImagesLock::to_yaml() const
{
    std::vector<oci::LockedImage> sorted = images;
    std::sort(sorted.begin(), sorted.end(), [](const oci::LockedImage& a, const oci::LockedImage& b) { return a.ref < b.ref; });
    YAML::Emitter out;
    out << YAML::BeginMap << YAML::Key << "version" << YAML::Value << 1 << YAML::Key << "images" << YAML::Value << YAML::BeginSeq;
    for (oci::LockedImage& image : sorted) {
        std::sort(image.platforms.begin(), image.platforms.end(),
                  [](const oci::ImagePlatform& a, const oci::ImagePlatform& b) { return a.platform.str() < b.platform.str(); });
        out << YAML::BeginMap << YAML::Key << "ref" << YAML::Value << YAML::DoubleQuoted << image.ref << YAML::Key << "name"
            << YAML::Value << image.name;
        if (!image.tag.empty()) out << YAML::Key << "tag" << YAML::Value << YAML::DoubleQuoted << image.tag;
        out << YAML::Key << "digest" << YAML::Value << image.top.digest.str() << YAML::Key << "size" << YAML::Value
            << image.top.size << YAML::Key << "media_type" << YAML::Value << image.top.media_type;
        out << YAML::Key << "platforms" << YAML::Value << YAML::BeginSeq;
        for (const oci::ImagePlatform& p : image.platforms) {
            out << YAML::BeginMap << YAML::Key << "platform" << YAML::Value << p.platform.str();
            out << YAML::Key << "manifest" << YAML::Value;
            emit_descriptor(out, p.manifest);
            out << YAML::Key << "config" << YAML::Value;
            emit_descriptor(out, p.config);
            out << YAML::Key << "layers" << YAML::Value << YAML::BeginSeq;
            for (const oci::Descriptor& l : p.layers) emit_descriptor(out, l);
            out << YAML::EndSeq << YAML::EndMap;
        }
        out << YAML::EndSeq << YAML::EndMap;
    }
    out << YAML::EndSeq << YAML::EndMap;
    return "# images.lock: container images pinned by `bundler lock`. Edit the manifests, not this file.\n" +
           std::string(out.c_str()) + "\n";
}

Result<ImagesLock> ImagesLock::load(const std::filesystem::path& path)
{
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return ImagesLock{};
    auto y = YamlReader::load(path);
    if (!y) return fail(y.error());
    const YAML::Node& r = y->root();
    TRY_VOID(y->only_keys(r, "", {"version", "images"}));
    auto version = y->uint(r, "version", "");
    if (!version) return fail(version.error());
    if (*version != 1) return fail(y->error(r["version"], "version", "unsupported lock version (want 1)"));
    auto items = y->list(r, "images", "");
    if (!items) return fail(items.error());
    ImagesLock lock;
    std::set<std::string> refs;
    for (std::size_t i = 0; i < items->size(); ++i) {
        auto image = read_image(*y, (*items)[i], fmt::format("images[{}]", i));
        if (!image) return fail(image.error());
        if (!refs.insert(image->ref).second) return fail(y->error((*items)[i]["ref"], fmt::format("images[{}].ref", i), "pinned twice"));
        lock.images.push_back(std::move(*image));
    }
    return lock;
}

const oci::ImagePlatform* find_platform(const oci::LockedImage& image, const oci::Platform& want)
{
    for (const oci::ImagePlatform& p : image.platforms)
        if (p.platform.serves(want)) return &p;
    return nullptr;
}

} // namespace common::manifest
