// SPDX-License-Identifier: Apache-2.0
#include <common/bundle/bundle_index.hpp>

#include <common/bundle/trailer.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <type_traits>
#include <utility>

namespace common::bundle {

using nlohmann::json;

std::string_view to_string(AddonKind kind) { return kind == AddonKind::chart ? "chart" : "manifest"; }

bool valid_addon_name(std::string_view name)
{
    auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    return !name.empty() && name.size() <= 54 && alnum(name.front()) && alnum(name.back()) &&
           std::all_of(name.begin(), name.end(), [&](char c) { return alnum(c) || c == '-'; });
}

bool FileEntry::for_role(std::string_view role) const
{
    return roles.empty() || std::find(roles.begin(), roles.end(), role) != roles.end();
}

bool DebRequest::applies(std::string_view role, bool has_gpu) const
{
    return (!gpu || has_gpu) && (roles.empty() || std::find(roles.begin(), roles.end(), role) != roles.end());
}

std::optional<unsigned> parse_mode(std::string_view text)
{
    if (text.size() < 3 || text.size() > 4) return std::nullopt;
    unsigned mode = 0;
    for (char c : text) {
        if (c < '0' || c > '7') return std::nullopt;
        mode = mode * 8 + static_cast<unsigned>(c - '0');
    }
    return mode;
}

Result<void> check_install_path(std::string_view path)
{
    if (!path.starts_with('/')) return fail(Errc::invalid_argument, "install path '{}' is not absolute", path);
    if (path.size() < 2 || path.ends_with('/'))
        return fail(Errc::invalid_argument, "install path '{}' does not name a file", path);
    std::size_t start = 1;
    while (start <= path.size()) {
        std::size_t end = path.find('/', start);
        if (end == std::string_view::npos) end = path.size();
        std::string_view part = path.substr(start, end - start);
        if (part.empty() || part == "." || part == "..")
            return fail(Errc::invalid_argument, "install path '{}' has an empty, '.' or '..' component", path);
        start = end + 1;
    }
    if (path.find('\0') != std::string_view::npos) return fail(Errc::invalid_argument, "install path has a NUL byte");
    return {};
}

namespace {

json descriptor_json(const oci::Descriptor& d)
{
    return {{"media_type", d.media_type}, {"digest", d.digest.str()}, {"size", d.size}};
}

json image_json(const oci::LockedImage& image)
{
    json platforms = json::array();
    for (const oci::ImagePlatform& p : image.platforms) {
        json layers = json::array();
        for (const oci::Descriptor& l : p.layers) layers.push_back(descriptor_json(l));
        platforms.push_back({{"platform", p.platform.str()},
                             {"manifest", descriptor_json(p.manifest)},
                             {"config", descriptor_json(p.config)},
                             {"layers", std::move(layers)}});
    }
    return {{"ref", image.ref},         {"name", image.name},     {"tag", image.tag},
            {"top", descriptor_json(image.top)}, {"platforms", std::move(platforms)},
            {"import", image.import},   {"airgap", image.airgap}, {"roles", image.roles}};
}

} // namespace

std::string BundleIndex::to_json() const
{
    json j;
    j["format"] = k_format_version;
    j["profile"] = profile;
    j["version"] = version;
    j["description"] = description;
    j["created"] = created;
    j["platforms"] = json::array();
    for (const Platform& p : platforms) j["platforms"].push_back({{"os", p.os}, {"release", p.release}, {"arch", p.arch}});
    j["roles"] = json::object();
    for (const auto& [name, plan] : roles) {
        j["roles"][name] = {{"phases", plan.phases},
                            {"minima",
                             {{"cpus", plan.minima.cpus},
                              {"memory_gb", plan.minima.memory_gb},
                              {"disk_gb", plan.minima.disk_gb}}}};
    }
    j["files"] = json::array();
    for (const FileEntry& f : files) {
        j["files"].push_back({{"name", f.name},
                              {"component", f.component},
                              {"url", f.url},
                              {"install", f.install},
                              {"mode", fmt::format("{:04o}", f.mode)},
                              {"roles", f.roles},
                              {"digest", f.blob.digest.str()},
                              {"size", f.blob.size}});
        if (!f.extract.empty()) j["files"].back()["extract"] = f.extract;
    }
    j["debs"] = json::object();
    for (const auto& [target, list] : debs) {
        json arr = json::array();
        for (const DebEntry& d : list)
            arr.push_back({{"name", d.name},
                           {"version", d.version},
                           {"architecture", d.architecture},
                           {"filename", d.filename},
                           {"digest", d.blob.digest.str()},
                           {"size", d.blob.size}});
        j["debs"][target] = std::move(arr);
    }
    if (!deb_requests.empty()) {
        json arr = json::array();
        for (const DebRequest& r : deb_requests) arr.push_back({{"name", r.name}, {"roles", r.roles}, {"gpu", r.gpu}});
        j["deb_requests"] = std::move(arr);
    }
    if (!apt_indexes.empty()) {
        j["apt_indexes"] = json::object();
        for (const auto& [target, a] : apt_indexes)
            j["apt_indexes"][target] = {{"architecture", a.architecture},
                                        {"packages", {{"digest", a.packages.digest.str()}, {"size", a.packages.size}}},
                                        {"packages_gz", {{"digest", a.packages_gz.digest.str()}, {"size", a.packages_gz.size}}},
                                        {"packages_xz", {{"digest", a.packages_xz.digest.str()}, {"size", a.packages_xz.size}}}};
    }
    j["images"] = json::array();
    for (const oci::LockedImage& image : images) j["images"].push_back(image_json(image));
    if (!addons.empty()) {
        json arr = json::array();
        for (const AddonEntry& a : addons)
            arr.push_back({{"name", a.name},
                           {"component", a.component},
                           {"kind", to_string(a.kind)},
                           {"source", a.source},
                           {"namespace", a.target_namespace},
                           {"values", a.values},
                           {"digest", a.blob.digest.str()},
                           {"size", a.blob.size}});
        j["addons"] = std::move(arr);
    }
    if (signer_public_key) {
        digest::Digest fpr = digest::sha256_of(std::as_bytes(std::span(*signer_public_key)));
        std::string hex;
        for (std::uint8_t b : *signer_public_key) hex += fmt::format("{:02x}", b);
        j["signer"] = {{"public_key", hex}, {"fingerprint", fpr.str()}};
    }
    j["blobs"] = json::array();
    for (const store::BlobRef& b : blobs) j["blobs"].push_back({{"digest", b.digest.str()}, {"size", b.size}});
    return j.dump(2) + "\n";
}

namespace {

// The integer `field` of type T. nlohmann's get<T>() would wrap -1 or truncate 2.5 and 1e30, so a value
// that is not a number, has a fraction, or lies outside T's range is refused, naming the field.
template <class T>
Result<T> integer_field(const json& j, std::string_view field)
{
    using Limits = std::numeric_limits<T>;
    constexpr std::string_view kind = std::is_unsigned_v<T> ? "a non-negative integer" : "an integer";
    if (j.is_number_unsigned() && std::in_range<T>(j.get<std::uint64_t>())) return static_cast<T>(j.get<std::uint64_t>());
    if (j.is_number_integer() && !j.is_number_unsigned()) {
        std::int64_t v = j.get<std::int64_t>();
        if (v < 0 && std::is_unsigned_v<T>) return fail(Errc::corrupt, "bundle.json: {}: {} is not {}", field, v, kind);
        if (std::in_range<T>(v)) return static_cast<T>(v);
    }
    if (j.is_number_float()) {
        double d = j.get<double>();
        if (!std::isfinite(d) || std::trunc(d) != d || (d < 0 && std::is_unsigned_v<T>))
            return fail(Errc::corrupt, "bundle.json: {}: {} is not {}", field, j.dump(), kind);
        // [-2^digits, 2^digits) is T's range (digits excludes the sign bit), exact in a double.
        double bound = std::ldexp(1.0, Limits::digits);
        if (d < bound && (std::is_unsigned_v<T> || d >= -bound)) return static_cast<T>(d);
    }
    if (!j.is_number()) return fail(Errc::corrupt, "bundle.json: {}: {} is not {}", field, j.dump(), kind);
    return fail(Errc::corrupt, "bundle.json: {}: {} is out of range ({} to {})", field, j.dump(), Limits::min(), Limits::max());
}

// A number `field` that must be finite and not negative (memory and disk minima).
Result<double> size_number_field(const json& j, std::string_view field)
{
    if (!j.is_number() || !std::isfinite(j.get<double>()) || j.get<double>() < 0)
        return fail(Errc::corrupt, "bundle.json: {}: {} is not a finite non-negative number", field, j.dump());
    return j.get<double>();
}

Result<store::BlobRef> parse_blob(const json& j, std::string_view where)
{
    auto d = digest::Digest::parse(j.at("digest").get<std::string>());
    if (!d) return fail(Errc::corrupt, "{}: {}", where, d.error().message);
    auto size = integer_field<std::uint64_t>(j.at("size"), fmt::format("{}.size", where));
    if (!size) return fail(size.error());
    return store::BlobRef{*d, *size};
}

bool listed(const std::vector<store::BlobRef>& blobs, const store::BlobRef& want)
{
    auto it = std::lower_bound(blobs.begin(), blobs.end(), want,
                               [](const store::BlobRef& a, const store::BlobRef& b) { return a.digest < b.digest; });
    return it != blobs.end() && it->digest == want.digest && it->size == want.size;
}

Result<oci::Descriptor> parse_descriptor(const json& j, const std::string& where, const std::vector<store::BlobRef>& blobs)
{
    auto ref = parse_blob(j, where);
    if (!ref) return fail(ref.error());
    if (!listed(blobs, *ref)) return fail(Errc::corrupt, "{}: blob {} is not in the blob list", where, ref->digest.str());
    return oci::Descriptor{j.at("media_type").get<std::string>(), ref->digest, ref->size, std::nullopt};
}

Result<oci::LockedImage> parse_image(const json& j, const std::string& where, const std::vector<store::BlobRef>& blobs)
{
    oci::LockedImage image;
    image.ref = j.at("ref").get<std::string>();
    image.name = j.at("name").get<std::string>();
    image.tag = j.at("tag").get<std::string>();
    std::string here = fmt::format("{}[{}]", where, image.name);
    auto top = parse_descriptor(j.at("top"), here + ".top", blobs);
    if (!top) return fail(top.error());
    image.top = std::move(*top);
    for (const json& p : j.at("platforms")) {
        oci::ImagePlatform ip;
        auto platform = oci::Platform::parse(p.at("platform").get<std::string>());
        if (!platform) return fail(Errc::corrupt, "{}: {}", here, platform.error().message);
        ip.platform = *platform;
        std::string pw = fmt::format("{}.{}", here, ip.platform.str());
        auto manifest = parse_descriptor(p.at("manifest"), pw + ".manifest", blobs);
        if (!manifest) return fail(manifest.error());
        auto config = parse_descriptor(p.at("config"), pw + ".config", blobs);
        if (!config) return fail(config.error());
        ip.manifest = std::move(*manifest);
        ip.config = std::move(*config);
        for (const json& l : p.at("layers")) {
            auto layer = parse_descriptor(l, pw + ".layers", blobs);
            if (!layer) return fail(layer.error());
            ip.layers.push_back(std::move(*layer));
        }
        image.platforms.push_back(std::move(ip));
    }
    image.import = j.value("import", false);
    image.airgap = j.value("airgap", false);
    image.roles = j.value("roles", std::vector<std::string>{});
    return image;
}

Result<BundleIndex> parse_index(const json& j)
{
    BundleIndex idx;
    auto format = integer_field<std::uint32_t>(j.at("format"), "format");
    if (!format) return fail(format.error());
    if (*format != k_format_version)
        return fail(Errc::unsupported, "bundle.json format {} is not supported (want {})", *format, k_format_version);
    idx.profile = j.at("profile").get<std::string>();
    idx.version = j.at("version").get<std::string>();
    idx.description = j.value("description", "");
    auto created = integer_field<std::int64_t>(j.at("created"), "created");
    if (!created) return fail(created.error());
    idx.created = *created;
    for (const json& p : j.at("platforms"))
        idx.platforms.push_back({p.at("os").get<std::string>(), p.at("release").get<std::string>(),
                                 p.at("arch").get<std::string>()});
    for (const auto& [name, r] : j.at("roles").items()) {
        RolePlan plan;
        plan.phases = r.at("phases").get<std::vector<std::string>>();
        const json& m = r.at("minima");
        std::string where = fmt::format("roles[{}].minima", name);
        auto cpus = integer_field<unsigned>(m.at("cpus"), where + ".cpus");
        if (!cpus) return fail(cpus.error());
        auto memory = size_number_field(m.at("memory_gb"), where + ".memory_gb");
        if (!memory) return fail(memory.error());
        auto disk = size_number_field(m.at("disk_gb"), where + ".disk_gb");
        if (!disk) return fail(disk.error());
        plan.minima = {*cpus, *memory, *disk};
        idx.roles.emplace(name, std::move(plan));
    }
    for (std::size_t i = 0; const json& b : j.at("blobs")) {
        auto ref = parse_blob(b, fmt::format("blobs[{}]", i++));
        if (!ref) return fail(ref.error());
        if (!idx.blobs.empty() && !(idx.blobs.back().digest < ref->digest))
            return fail(Errc::corrupt, "blobs: {} is out of order or listed twice", ref->digest.str());
        idx.blobs.push_back(*ref);
    }
    for (const json& f : j.at("files")) {
        FileEntry e;
        e.name = f.at("name").get<std::string>();
        std::string where = fmt::format("files[{}]", e.name);
        e.component = f.value("component", "");
        e.url = f.value("url", "");
        e.install = f.at("install").get<std::string>();
        if (auto ok = check_install_path(e.install); !ok) return fail(Errc::corrupt, "{}: {}", where, ok.error().message);
        const std::string mode = f.at("mode").get<std::string>();
        std::optional<unsigned> parsed = parse_mode(mode);
        if (!parsed) return fail(Errc::corrupt, "{}: invalid mode '{}'", where, mode);
        e.mode = *parsed;
        e.roles = f.value("roles", std::vector<std::string>{});
        e.extract = f.value("extract", "");
        auto ref = parse_blob(f, where);
        if (!ref) return fail(ref.error());
        e.blob = *ref;
        if (!listed(idx.blobs, e.blob)) return fail(Errc::corrupt, "{}: blob {} is not in the blob list", where, e.blob.digest.str());
        idx.files.push_back(std::move(e));
    }
    if (j.contains("signer")) {
        const std::string hex = j.at("signer").at("public_key").get<std::string>();
        // 32 bytes in hex: the same shape as a digest.
        auto raw = digest::Digest::from_hex(hex);
        if (!raw) return fail(Errc::corrupt, "signer.public_key: want 64 lowercase hex digits");
        idx.signer_public_key = raw->bytes;
    }
    // "debs" came after format 1's first release: absent means none (readers ignore unknown keys,
    // writers add keys, so this stays format 1).
    if (j.contains("debs")) {
        for (const auto& [target, list] : j.at("debs").items()) {
            for (const json& d : list) {
                DebEntry e;
                e.name = d.at("name").get<std::string>();
                e.version = d.at("version").get<std::string>();
                e.architecture = d.at("architecture").get<std::string>();
                e.filename = d.at("filename").get<std::string>();
                std::string where = fmt::format("debs[{}][{}]", target, e.name);
                if (e.filename.starts_with('/') || e.filename.find("..") != std::string::npos)
                    return fail(Errc::corrupt, "{}: filename '{}' must be relative without '..'", where, e.filename);
                auto ref = parse_blob(d, where);
                if (!ref) return fail(ref.error());
                e.blob = *ref;
                if (!listed(idx.blobs, e.blob)) return fail(Errc::corrupt, "{}: blob {} is not in the blob list", where, e.blob.digest.str());
                idx.debs[target].push_back(std::move(e));
            }
        }
    }
    // "deb_requests" came after "debs": absent means every package is for every node.
    // "addons" came after "deb_requests": absent means none.
    if (j.contains("addons"))
        for (const json& a : j.at("addons")) {
            AddonEntry e;
            e.name = a.at("name").get<std::string>();
            std::string where = fmt::format("addons[{}]", e.name);
            if (!valid_addon_name(e.name)) return fail(Errc::corrupt, "{}: not an RFC 1123 label", where);
            if (std::any_of(idx.addons.begin(), idx.addons.end(), [&](const AddonEntry& o) { return o.name == e.name; }))
                return fail(Errc::corrupt, "{}: listed twice", where);
            e.component = a.value("component", "");
            std::string kind = a.at("kind").get<std::string>();
            if (kind == "chart") e.kind = AddonKind::chart;
            else if (kind != "manifest") return fail(Errc::corrupt, "{}: kind '{}' is neither chart nor manifest", where, kind);
            e.source = a.value("source", "");
            e.target_namespace = a.value("namespace", "");
            e.values = a.value("values", "");
            auto ref = parse_blob(a, where);
            if (!ref) return fail(ref.error());
            e.blob = *ref;
            if (!listed(idx.blobs, e.blob)) return fail(Errc::corrupt, "{}: blob {} is not in the blob list", where, e.blob.digest.str());
            idx.addons.push_back(std::move(e));
        }
    if (j.contains("deb_requests"))
        for (const json& r : j.at("deb_requests")) {
            DebRequest req;
            req.name = r.at("name").get<std::string>();
            req.roles = r.value("roles", std::vector<std::string>{});
            req.gpu = r.value("gpu", false);
            idx.deb_requests.push_back(std::move(req));
        }
    // "apt_indexes" came after "debs": absent means none (a node then has no repository to serve).
    if (j.contains("apt_indexes")) {
        for (const auto& [target, a] : j.at("apt_indexes").items()) {
            if (!idx.debs.contains(target)) return fail(Errc::corrupt, "apt_indexes[{}]: no debs for that target", target);
            AptIndex index;
            index.architecture = a.at("architecture").get<std::string>();
            if (index.architecture.empty() ||
                !std::all_of(index.architecture.begin(), index.architecture.end(), [](char c) { return std::islower(c) || std::isdigit(c) || c == '-'; }))
                return fail(Errc::corrupt, "apt_indexes[{}].architecture: '{}' is not a Debian architecture name", target, index.architecture);
            for (auto [key, ref] : {std::pair{"packages", &index.packages}, std::pair{"packages_gz", &index.packages_gz},
                                    std::pair{"packages_xz", &index.packages_xz}}) {
                std::string where = fmt::format("apt_indexes[{}].{}", target, key);
                auto blob = parse_blob(a.at(key), where);
                if (!blob) return fail(blob.error());
                if (!listed(idx.blobs, *blob)) return fail(Errc::corrupt, "{}: blob {} is not in the blob list", where, blob->digest.str());
                *ref = *blob;
            }
            idx.apt_indexes[target] = std::move(index);
        }
    }
    // "images" came after "debs": absent means none.
    if (j.contains("images")) {
        for (std::size_t i = 0; i < j.at("images").size(); ++i) {
            auto image = parse_image(j.at("images")[i], fmt::format("images[{}]", i), idx.blobs);
            if (!image) return fail(image.error());
            idx.images.push_back(std::move(*image));
        }
    }
    return idx;
}

} // namespace

Result<BundleIndex> BundleIndex::parse(std::string_view text)
{
    try {
        return parse_index(json::parse(text));
    } catch (const std::exception& e) {
        return fail(Errc::corrupt, "bundle.json: {}", e.what());
    }
}

std::uint64_t BundleIndex::total_blob_bytes() const
{
    std::uint64_t total = 0;
    for (const store::BlobRef& b : blobs) total += b.size;
    return total;
}

const RolePlan* BundleIndex::role(std::string_view name) const
{
    auto it = roles.find(std::string(name));
    return it == roles.end() ? nullptr : &it->second;
}

} // namespace common::bundle
