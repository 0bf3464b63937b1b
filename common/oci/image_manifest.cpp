// SPDX-License-Identifier: Apache-2.0
#include <common/oci/image_manifest.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

namespace common::oci {

using nlohmann::json;

std::string manifest_accept()
{
    return fmt::format("{}, {}, {}, {}", media::oci_index, media::docker_list, media::oci_manifest, media::docker_manifest);
}

bool is_index(std::string_view m) { return m == media::oci_index || m == media::docker_list; }
bool is_manifest(std::string_view m) { return m == media::oci_manifest || m == media::docker_manifest; }

std::string Platform::str() const { return variant.empty() ? os + "/" + architecture : os + "/" + architecture + "/" + variant; }

Result<Platform> Platform::parse(std::string_view text)
{
    Platform p;
    std::size_t a = text.find('/');
    if (a == std::string_view::npos) return fail(Errc::invalid_argument, "platform '{}': want os/architecture[/variant]", text);
    std::size_t b = text.find('/', a + 1);
    p.os = std::string(text.substr(0, a));
    p.architecture = std::string(text.substr(a + 1, b == std::string_view::npos ? std::string_view::npos : b - a - 1));
    if (b != std::string_view::npos) p.variant = std::string(text.substr(b + 1));
    if (p.os.empty() || p.architecture.empty() || (b != std::string_view::npos && p.variant.empty()))
        return fail(Errc::invalid_argument, "platform '{}': want os/architecture[/variant]", text);
    return p;
}

Platform Platform::from_dpkg_arch(std::string_view arch)
{
    if (arch == "arm64") return {"linux", "arm64", "v8"};
    if (arch == "armhf") return {"linux", "arm", "v7"};
    if (arch == "armel") return {"linux", "arm", "v6"};
    if (arch == "i386") return {"linux", "386", ""};
    if (arch == "ppc64el") return {"linux", "ppc64le", ""};
    return {"linux", std::string(arch), ""};
}

bool Platform::serves(const Platform& want) const
{
    auto variant_of = [](const Platform& p) { return p.architecture == "arm64" && p.variant.empty() ? std::string("v8") : p.variant; };
    return os == want.os && architecture == want.architecture && variant_of(*this) == variant_of(want);
}

namespace {

Result<Descriptor> descriptor(const json& j, std::string_view where)
{
    if (!j.is_object()) return fail(Errc::corrupt, "{}: not an object", where);
    Descriptor d;
    d.media_type = j.value("mediaType", "");
    auto digest_text = j.value("digest", "");
    if (!digest_text.starts_with("sha256:")) return fail(Errc::unsupported, "{}: digest '{}' is not sha256", where, digest_text);
    auto parsed = digest::Digest::parse(digest_text);
    if (!parsed) return fail(Errc::corrupt, "{}: {}", where, parsed.error().message);
    d.digest = *parsed;
    const json& size = j.contains("size") ? j.at("size") : json();
    if (!size.is_number_unsigned()) return fail(Errc::corrupt, "{}: size is not a non-negative integer", where);
    d.size = size.get<std::uint64_t>();
    if (j.contains("platform")) {
        const json& p = j.at("platform");
        if (!p.is_object()) return fail(Errc::corrupt, "{}: platform is not an object", where);
        d.platform = Platform{p.value("os", ""), p.value("architecture", ""), p.value("variant", "")};
    }
    return d;
}

} // namespace

Result<Manifest> parse_manifest(std::string_view text, std::string_view content_type)
{
    json j;
    try {
        j = json::parse(text);
    } catch (const std::exception& e) {
        return fail(Errc::corrupt, "manifest is not JSON: {}", e.what());
    }
    if (!j.is_object()) return fail(Errc::corrupt, "manifest is not a JSON object");
    Manifest m;
    m.media_type = j.value("mediaType", std::string(content_type));
    std::size_t semicolon = m.media_type.find(';');
    if (semicolon != std::string::npos) m.media_type.resize(semicolon);
    int schema = j.value("schemaVersion", 0);
    if (schema == 1 || m.media_type == media::docker_schema1 || m.media_type == media::docker_schema1_signed)
        return fail(Errc::unsupported, "Docker schema 1 manifests are not supported (deprecated since 2017): re-push the image with a current client");
    if (schema != 2) return fail(Errc::corrupt, "manifest schemaVersion {} is not 2", j.value("schemaVersion", json()).dump());
    if (m.media_type.empty()) m.media_type = j.contains("manifests") ? media::oci_index : media::oci_manifest;
    if (is_index(m.media_type)) {
        if (!j.contains("manifests") || !j.at("manifests").is_array()) return fail(Errc::corrupt, "index has no manifests array");
        for (std::size_t i = 0; i < j.at("manifests").size(); ++i) {
            auto d = descriptor(j.at("manifests")[i], fmt::format("manifests[{}]", i));
            if (!d) return fail(d.error());
            m.manifests.push_back(std::move(*d));
        }
        return m;
    }
    if (!is_manifest(m.media_type)) return fail(Errc::unsupported, "media type '{}' is not an image manifest or index", m.media_type);
    if (!j.contains("config")) return fail(Errc::corrupt, "manifest has no config");
    auto config = descriptor(j.at("config"), "config");
    if (!config) return fail(config.error());
    m.config = std::move(*config);
    if (!j.contains("layers") || !j.at("layers").is_array()) return fail(Errc::corrupt, "manifest has no layers array");
    for (std::size_t i = 0; i < j.at("layers").size(); ++i) {
        auto d = descriptor(j.at("layers")[i], fmt::format("layers[{}]", i));
        if (!d) return fail(d.error());
        m.layers.push_back(std::move(*d));
    }
    return m;
}

std::vector<Descriptor> LockedImage::blobs() const
{
    std::vector<Descriptor> out;
    std::set<digest::Digest> seen;
    auto add = [&](const Descriptor& d) {
        if (seen.insert(d.digest).second) out.push_back(d);
    };
    add(top);
    for (const ImagePlatform& p : platforms) {
        add(p.manifest);
        add(p.config);
        for (const Descriptor& l : p.layers) add(l);
    }
    return out;
}

bool LockedImage::for_role(std::string_view role) const
{
    return roles.empty() || std::find(roles.begin(), roles.end(), role) != roles.end();
}

} // namespace common::oci
