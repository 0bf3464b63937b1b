// SPDX-License-Identifier: Apache-2.0
#include <bundler/build/addon_images.hpp>

#include <archive.h>
#include <archive_entry.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <memory>
#include <regex>

#include <common/io/file.hpp>

namespace bundler::build {

namespace {

using common::Errc;
using common::fail;

void add_once(std::vector<std::string>& out, std::string ref)
{
    if (!ref.empty() && std::find(out.begin(), out.end(), ref) == out.end()) out.push_back(std::move(ref));
}

std::string scalar(const YAML::Node& n)
{
    return n && n.IsScalar() ? n.Scalar() : std::string{};
}

// `image: {registry?, repository, tag?, digest?}` as charts write it; empty when it names no image.
std::string composed(const YAML::Node& image, const std::string& app_version)
{
    std::string repo = scalar(image["repository"]);
    if (repo.empty()) return {};
    if (std::string registry = scalar(image["registry"]); !registry.empty()) repo = registry + "/" + repo;
    if (std::string digest = scalar(image["digest"]); !digest.empty()) return repo + "@" + digest;
    std::string tag = scalar(image["tag"]);
    if (tag.empty()) tag = app_version;
    return tag.empty() ? std::string{} : repo + ":" + tag;
}

void walk(const YAML::Node& n, const std::string& app_version, std::vector<std::string>& out)
{
    if (n.IsMap()) {
        for (const auto& kv : n) {
            const YAML::Node& v = kv.second;
            if (scalar(kv.first) == "image") {
                if (v.IsScalar() && v.Scalar().find("{{") == std::string::npos) add_once(out, v.Scalar());
                else if (v.IsMap()) add_once(out, composed(v, app_version));
            }
            walk(v, app_version, out);
        }
    } else if (n.IsSequence()) {
        for (const auto& item : n) walk(item, app_version, out);
    }
}

// helm's values merge: maps key by key, anything else replaced by what is put over it.
YAML::Node merged(const YAML::Node& base, const YAML::Node& over)
{
    if (!over || over.IsNull()) return YAML::Clone(base);
    if (!base || !base.IsMap() || !over.IsMap()) return YAML::Clone(over);
    YAML::Node out = YAML::Clone(base);
    for (const auto& kv : over) {
        std::string key = scalar(kv.first);
        out[key] = merged(base[key], kv.second);
    }
    return out;
}

Result<YAML::Node> parse_one(std::string_view text, std::string_view what)
{
    try {
        return YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
        return fail(Errc::invalid_argument, "{}: line {}: {}", what, e.mark.line + 1, e.msg);
    }
}

struct ArchiveDeleter {
    void operator()(archive* a) const { archive_read_free(a); }
};

} // namespace

Result<std::vector<std::string>> manifest_images(std::string_view yaml)
{
    std::vector<YAML::Node> docs;
    try {
        docs = YAML::LoadAll(std::string(yaml));
    } catch (const YAML::Exception& e) {
        return fail(Errc::invalid_argument, "line {}: {}", e.mark.line + 1, e.msg);
    }
    std::vector<std::string> out;
    for (const YAML::Node& d : docs) walk(d, "", out);
    return out;
}

Result<std::vector<std::string>> chart_images(std::span<const std::byte> tgz, std::string_view values)
{
    std::unique_ptr<archive, ArchiveDeleter> a(archive_read_new());
    archive_read_support_filter_gzip(a.get());
    archive_read_support_format_tar(a.get());
    if (archive_read_open_memory(a.get(), tgz.data(), tgz.size()) != ARCHIVE_OK)
        return fail(Errc::invalid_argument, "not a chart archive (.tgz): {}", archive_error_string(a.get()));
    std::string top, chart_yaml, values_yaml;
    bool has_chart = false;
    std::vector<std::string> template_lines;
    archive_entry* entry = nullptr;
    for (;;) {
        int r = archive_read_next_header(a.get(), &entry);
        if (r == ARCHIVE_EOF) break;
        if (r != ARCHIVE_OK) return fail(Errc::invalid_argument, "chart archive: {}", archive_error_string(a.get()));
        std::string path = archive_entry_pathname(entry);
        if (path.starts_with("./")) path.erase(0, 2);
        std::size_t slash = path.find('/');
        if (slash == std::string::npos || archive_entry_filetype(entry) != AE_IFREG) continue;
        std::string folder = path.substr(0, slash), rest = path.substr(slash + 1);
        if (top.empty()) top = folder;
        if (folder != top) continue;
        bool is_template = rest.starts_with("templates/");
        if (rest != "Chart.yaml" && rest != "values.yaml" && !is_template) continue;
        if (archive_entry_size(entry) > (16 << 20)) return fail(Errc::invalid_argument, "chart archive: {} is over 16 MiB", path);
        std::string body(static_cast<std::size_t>(archive_entry_size(entry)), '\0');
        if (archive_read_data(a.get(), body.data(), body.size()) != static_cast<la_ssize_t>(body.size()))
            return fail(Errc::invalid_argument, "chart archive: {}: {}", path, archive_error_string(a.get()));
        if (rest == "Chart.yaml") chart_yaml = std::move(body), has_chart = true;
        else if (rest == "values.yaml") values_yaml = std::move(body);
        else template_lines.push_back(std::move(body));
    }
    if (!has_chart) return fail(Errc::invalid_argument, "not a Helm chart: no <chart>/Chart.yaml in the archive");
    auto chart = parse_one(chart_yaml, top + "/Chart.yaml");
    if (!chart) return fail(chart.error());
    std::string app_version = chart->IsMap() ? scalar((*chart)["appVersion"]) : "";
    auto own = parse_one(values_yaml, top + "/values.yaml");
    if (!own) return fail(own.error());
    auto over = parse_one(values, "the component's values");
    if (!over) return fail(over.error());
    std::vector<std::string> out;
    walk(merged(*own, *over), app_version, out);
    // Literal `image: repo:tag` lines of the templates (one with {{ }} is the values' business, read above).
    static const std::regex literal(R"(^\s*(?:-\s+)?image:\s*["']?([^"'\s{}#]+)["']?\s*(?:#.*)?$)");
    for (const std::string& text : template_lines) {
        std::size_t begin = 0;
        while (begin < text.size()) {
            std::size_t end = text.find('\n', begin);
            if (end == std::string::npos) end = text.size();
            std::string line = text.substr(begin, end - begin);
            std::smatch m;
            if (line.find("{{") == std::string::npos && std::regex_match(line, m, literal)) add_once(out, m[1].str());
            begin = end + 1;
        }
    }
    return out;
}

bool carries_image(const std::vector<common::oci::LockedImage>& images, std::string_view ref)
{
    auto want = common::oci::Reference::parse(ref);
    if (!want) return false;
    return std::any_of(images.begin(), images.end(), [&](const common::oci::LockedImage& image) {
        if (image.name != want->name()) return false;
        if (!want->digest) return !want->tag.empty() && image.tag == want->tag;
        if (image.top.digest == *want->digest) return true;
        return std::any_of(image.platforms.begin(), image.platforms.end(),
                           [&](const common::oci::ImagePlatform& p) { return p.manifest.digest == *want->digest; });
    });
}

Result<void> check_addon_images(const common::manifest::Manifests& manifests, const common::bundle::BundleIndex& index,
                                const common::store::BlobStore& cache)
{
    std::vector<std::string> missing;
    for (const common::manifest::Component& c : manifests.components) {
        for (const common::manifest::AddonSpec& a : c.addons) {
            auto entry = std::find_if(index.addons.begin(), index.addons.end(),
                                      [&](const common::bundle::AddonEntry& e) { return e.name == a.name; });
            if (entry == index.addons.end()) return fail(Errc::corrupt, "addon {} is not in the bundle index", a.name);
            std::vector<std::string> named;
            if (a.images) {
                named = *a.images;
            } else {
                auto bytes = common::io::read_file(cache.blob_path(entry->blob.digest), 256 << 20);
                if (!bytes) return fail(bytes.error().wrap(fmt::format("addon {}", a.name)));
                auto found = a.kind == common::bundle::AddonKind::chart
                                 ? chart_images(std::as_bytes(std::span(bytes->data(), bytes->size())), a.values)
                                 : manifest_images(*bytes);
                if (!found)
                    return fail(Errc::invalid_argument, "{}: addon {} ({}): {}", a.where, a.name, a.source(), found.error().message);
                named = std::move(*found);
            }
            for (const std::string& ref : named) {
                if (!common::oci::Reference::parse(ref))
                    missing.push_back(fmt::format("  {}: addon {} names '{}', which is not an image reference", a.where, a.name, ref));
                else if (!carries_image(index.images, ref))
                    missing.push_back(fmt::format("  {}: addon {} names image {}", a.where, a.name, ref));
            }
        }
    }
    if (!missing.empty())
        return fail(Errc::failed_precondition,
                    "addons name images the bundle does not carry (a node could not pull them): add each to a component's images: "
                    "and run `bundler lock`, or list an addon's real images in its images:\n{}",
                    fmt::join(missing, "\n"));
    return {};
}

} // namespace bundler::build
