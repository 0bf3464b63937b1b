// SPDX-License-Identifier: Apache-2.0
#include <common/manifest/manifests.hpp>

#include <map>

#include <common/bundle/phase_table.hpp>
#include <common/io/file.hpp>
#include <common/manifest/yaml_reader.hpp>

#include <algorithm>

namespace common::manifest {

namespace fs = std::filesystem;

namespace {

bool valid_name(std::string_view s)
{
    return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    }) && s[0] != '.';
}

// `sha256:` with its `sha256_source:` (required with it): the checksum an upstream publishes for a URL.
Result<void> parse_published(const YamlReader& y, const YAML::Node& n, std::string_view where, FileSpec& f)
{
    if (!n["sha256"]) return {};
    auto sha = y.string(n, "sha256", where);
    if (!sha) return fail(sha.error());
    auto d = digest::Digest::parse(*sha);
    if (!d) return fail(y.error(n["sha256"], fmt::format("{}.sha256", where), d.error().message));
    if (!n["sha256_source"])
        return fail(y.error(n, fmt::format("{}.sha256_source", where), "missing: cite where the checksum is published"));
    auto cited = y.string(n, "sha256_source", where);
    if (!cited) return fail(cited.error());
    f.published_sha256 = *d;
    f.published_source = *cited;
    return {};
}

Result<FileSpec> parse_file(const YamlReader& y, const YAML::Node& n, std::string_view where, bool is_binary)
{
    TRY_VOID(y.only_keys(n, where, {"name", "url", "install", "mode", "roles", "arch", "extract", "sha256", "sha256_source"}));
    FileSpec f;
    f.where = fmt::format("{}:{}", y.path(), n.Mark().line + 1);
    auto name = y.string(n, "name", where);
    if (!name) return fail(name.error());
    if (!valid_name(*name)) return fail(y.error(n["name"], fmt::format("{}.name", where), "use a-z, 0-9, '-', '_', '.'"));
    f.name = *name;
    auto url = y.string(n, "url", where);
    if (!url) return fail(url.error());
    if (!url->starts_with("http://") && !url->starts_with("https://") && !url->starts_with("file://"))
        return fail(y.error(n["url"], fmt::format("{}.url", where), "want an http://, https:// or file:// URL"));
    f.url = *url;
    auto install = is_binary ? y.string_or(n, "install", where, "/usr/local/bin/" + f.name) : y.string(n, "install", where);
    if (!install) return fail(install.error());
    if (auto ok = bundle::check_install_path(*install); !ok)
        return fail(y.error(n["install"], fmt::format("{}.install", where), ok.error().message));
    f.install = *install;
    auto mode = y.string_or(n, "mode", where, is_binary ? "0755" : "0644");
    if (!mode) return fail(mode.error());
    std::optional<unsigned> m = bundle::parse_mode(*mode);
    if (!m) return fail(y.error(n["mode"], fmt::format("{}.mode", where), "want an octal mode such as \"0755\""));
    f.mode = *m;
    auto roles = y.strings_or_empty(n, "roles", where);
    if (!roles) return fail(roles.error());
    f.roles = *roles;
    YAML::Node arch = n["arch"];
    if (arch && arch.IsScalar()) f.arches = {arch.Scalar()};
    else {
        auto arches = y.strings_or_empty(n, "arch", where);
        if (!arches) return fail(arches.error());
        f.arches = *arches;
    }
    for (const std::string& a : f.arches)
        if (!valid_name(a) || a.find('.') != std::string::npos)
            return fail(y.error(n["arch"], fmt::format("{}.arch", where), fmt::format("'{}' is not a dpkg architecture (amd64, arm64)", a)));
    auto extract = y.string_or(n, "extract", where, "");
    if (!extract) return fail(extract.error());
    if (!extract->empty()) {
        fs::path member(*extract);
        if (member.is_absolute() || std::any_of(member.begin(), member.end(), [](const fs::path& part) { return part == ".."; }))
            return fail(y.error(n["extract"], fmt::format("{}.extract", where), "want a path inside the archive, such as linux-amd64/helm"));
        f.extract = *extract;
    }
    TRY_VOID(parse_published(y, n, where, f));
    return f;
}

// `- busybox:1.36` or `- {ref: busybox:1.36, import: true, airgap: false, roles: [master]}`.
Result<ImageSpec> parse_image(const YamlReader& y, const YAML::Node& n, std::string_view where)
{
    ImageSpec image;
    image.where = fmt::format("{}:{}", y.path(), n.Mark().line + 1);
    // yaml-cpp's Node::operator= writes through to the node it refers to: reset() rebinds instead.
    YAML::Node ref_node;
    ref_node.reset(n);
    std::string ref_field(where);
    if (n.IsMap()) {
        TRY_VOID(y.only_keys(n, where, {"ref", "import", "airgap", "roles"}));
        ref_field = fmt::format("{}.ref", where);
        if (!n["ref"]) return fail(y.error(n, ref_field, "missing"));
        ref_node.reset(n["ref"]);
        for (auto [key, out] : {std::pair{"import", &image.import}, {"airgap", &image.airgap}}) {
            YAML::Node v = n[key];
            if (!v) continue;
            std::string text = v.IsScalar() ? v.as<std::string>() : "";
            if (text != "true" && text != "false")
                return fail(y.error(v, fmt::format("{}.{}", where, key), "expected true or false"));
            *out = text == "true";
        }
        auto roles = y.strings_or_empty(n, "roles", where);
        if (!roles) return fail(roles.error());
        image.roles = *roles;
    }
    if (!ref_node.IsScalar() || ref_node.as<std::string>().empty())
        return fail(y.error(ref_node, ref_field, "expected an image reference such as busybox:1.36"));
    image.ref = ref_node.as<std::string>();
    auto parsed = oci::Reference::parse(image.ref);
    if (!parsed) return fail(y.error(ref_node, ref_field, parsed.error().message));
    image.reference = *parsed;
    return image;
}

bool is_url(std::string_view s) { return s.starts_with("http://") || s.starts_with("https://") || s.starts_with("file://"); }

// A file of the manifests folder named by a component ("addons/x.yaml"): relative, no "..", read whole.
Result<std::string> read_local(const YamlReader& y, const YAML::Node& at, std::string_view field, const fs::path& dir,
                               const std::string& rel)
{
    fs::path p(rel);
    if (rel.empty() || p.is_absolute() || std::any_of(p.begin(), p.end(), [](const fs::path& part) { return part == ".."; }))
        return fail(y.error(at, field, fmt::format("'{}' is neither a URL nor a path inside the manifests folder", rel)));
    auto text = io::read_file(dir / p, 64 << 20);
    if (!text) return fail(y.error(at, field, text.error().message));
    return std::move(*text);
}

Result<AddonSpec> parse_addon(const YamlReader& y, const YAML::Node& n, std::string_view where, const fs::path& dir)
{
    TRY_VOID(y.only_keys(n, where, {"name", "manifest", "chart", "namespace", "values", "images", "sha256", "sha256_source"}));
    AddonSpec a;
    a.where = fmt::format("{}:{}", y.path(), n.Mark().line + 1);
    auto name = y.string(n, "name", where);
    if (!name) return fail(name.error());
    if (!bundle::valid_addon_name(*name))
        return fail(y.error(n["name"], fmt::format("{}.name", where), "k3s names the AddOn platform-<name>: use a-z, 0-9 and '-', 54 at most, a letter or digit at each end"));
    a.name = *name;
    if (bool(n["manifest"]) == bool(n["chart"])) return fail(y.error(n, where, "give one of manifest: or chart:"));
    a.kind = n["chart"] ? bundle::AddonKind::chart : bundle::AddonKind::manifest;
    std::string key = n["chart"] ? "chart" : "manifest";
    std::string field = fmt::format("{}.{}", where, key);
    auto source = y.string(n, key, where);
    if (!source) return fail(source.error());
    if (is_url(*source)) {
        FileSpec f;
        f.name = a.name;
        f.url = *source;
        f.where = a.where;
        TRY_VOID(parse_published(y, n, where, f));
        a.remote = std::move(f);
    } else {
        if (n["sha256"]) return fail(y.error(n["sha256"], fmt::format("{}.sha256", where), "only a URL source is pinned by checksum"));
        auto text = read_local(y, n[key], field, dir, *source);
        if (!text) return fail(text.error());
        a.local_path = *source;
        a.local_content = std::move(*text);
    }
    if (a.kind == bundle::AddonKind::chart) {
        auto ns = y.string_or(n, "namespace", where, "default");
        if (!ns) return fail(ns.error());
        if (!bundle::valid_addon_name(*ns)) return fail(y.error(n["namespace"], fmt::format("{}.namespace", where), "not a namespace name"));
        a.target_namespace = *ns;
        if (n["values"]) {
            auto values = y.string(n, "values", where);
            if (!values) return fail(values.error());
            auto text = read_local(y, n["values"], fmt::format("{}.values", where), dir, *values);
            if (!text) return fail(text.error());
            a.values = std::move(*text);
        }
    } else if (n["namespace"] || n["values"]) {
        return fail(y.error(n, where, "namespace: and values: are for charts (a manifest names its own namespaces)"));
    }
    if (n["images"]) {
        auto images = y.strings_or_empty(n, "images", where);
        if (!images) return fail(images.error());
        a.images = *images;
    }
    return a;
}

Result<Component> load_component(const fs::path& dir, const std::string& name)
{
    auto y = YamlReader::load(dir / "components" / (name + ".yaml"));
    if (!y) return fail(y.error().wrap(fmt::format("component '{}'", name)));
    const YAML::Node& r = y->root();
    TRY_VOID(y->only_keys(r, "", {"name", "description", "binaries", "files", "debs", "images", "addons"}));
    Component c;
    c.path = y->path();
    auto n = y->string(r, "name", "");
    if (!n) return fail(n.error());
    if (*n != name) return fail(y->error(r["name"], "name", fmt::format("is '{}' but the file is named '{}'", *n, name)));
    c.name = *n;
    auto desc = y->string_or(r, "description", "", "");
    if (!desc) return fail(desc.error());
    c.description = *desc;
    for (std::string_view kind : {"binaries", "files"}) {
        auto items = y->list(r, kind, "");
        if (!items) return fail(items.error());
        for (std::size_t i = 0; i < items->size(); ++i) {
            auto f = parse_file(*y, (*items)[i], fmt::format("{}[{}]", kind, i), kind == "binaries");
            if (!f) return fail(f.error());
            c.files.push_back(std::move(*f));
        }
    }
    auto debs = y->list(r, "debs", "");
    if (!debs) return fail(debs.error());
    for (std::size_t i = 0; i < debs->size(); ++i) {
        const YAML::Node& d = (*debs)[i];
        std::string where = fmt::format("debs[{}]", i);
        bundle::DebRequest req;
        YAML::Node name_node;
        name_node.reset(d);
        if (d.IsMap()) {
            TRY_VOID(y->only_keys(d, where, {"name", "roles", "gpu"}));
            if (!d["name"]) return fail(y->error(d, where + ".name", "missing"));
            name_node.reset(d["name"]);
            auto roles = y->strings_or_empty(d, "roles", where);
            if (!roles) return fail(roles.error());
            req.roles = *roles;
            if (YAML::Node g = d["gpu"]) {
                std::string text = g.IsScalar() ? g.as<std::string>() : "";
                if (text != "true" && text != "false") return fail(y->error(g, where + ".gpu", "expected true or false"));
                req.gpu = text == "true";
            }
        }
        req.name = name_node.IsScalar() ? name_node.as<std::string>() : "";
        if (!valid_name(req.name) || req.name.find('_') != std::string::npos)
            return fail(y->error(name_node, where, fmt::format("'{}' is not a Debian package name", req.name)));
        c.deb_requests.push_back(std::move(req));
    }
    auto images = y->list(r, "images", "");
    if (!images) return fail(images.error());
    for (std::size_t i = 0; i < images->size(); ++i) {
        auto image = parse_image(*y, (*images)[i], fmt::format("images[{}]", i));
        if (!image) return fail(image.error());
        for (const ImageSpec& earlier : c.images)
            if (earlier.ref == image->ref)
                return fail(y->error((*images)[i], fmt::format("images[{}]", i), fmt::format("'{}' is listed twice", image->ref)));
        c.images.push_back(std::move(*image));
    }
    auto addons = y->list(r, "addons", "");
    if (!addons) return fail(addons.error());
    for (std::size_t i = 0; i < addons->size(); ++i) {
        auto addon = parse_addon(*y, (*addons)[i], fmt::format("addons[{}]", i), dir);
        if (!addon) return fail(addon.error());
        for (const AddonSpec& earlier : c.addons)
            if (earlier.name == addon->name)
                return fail(y->error((*addons)[i], fmt::format("addons[{}]", i), fmt::format("'{}' is listed twice", addon->name)));
        c.addons.push_back(std::move(*addon));
    }
    return c;
}

Result<bundle::RolePlan> parse_role(const YamlReader& y, const YAML::Node& n, const std::string& where)
{
    TRY_VOID(y.only_keys(n, where, {"phases", "minima"}));
    bundle::RolePlan plan;
    auto phases = y.strings_or_empty(n, "phases", where);
    if (!phases) return fail(phases.error());
    if (phases->empty()) return fail(y.error(n, where + ".phases", "missing or empty"));
    std::vector<std::string_view> known;
    for (const bundle::PhaseInfo& info : bundle::phase_table()) known.push_back(info.name);
    std::size_t last = 0;
    for (const std::string& p : *phases) {
        if (!bundle::find_phase(p))
            return fail(y.error(n["phases"], where + ".phases", fmt::format("unknown phase '{}' (known: {})", p, fmt::join(known, ", "))));
        std::size_t pos = bundle::phase_order(p);
        if (pos < last && !plan.phases.empty())
            return fail(y.error(n["phases"], where + ".phases", fmt::format("phase '{}' is out of order (order: {})", p, fmt::join(known, ", "))));
        last = pos;
        plan.phases.push_back(p);
    }
    if (YAML::Node m = n["minima"]) {
        std::string mw = where + ".minima";
        TRY_VOID(y.only_keys(m, mw, {"cpus", "memory_gb", "disk_gb"}));
        auto cpus = y.number_or(m, "cpus", mw, 2);
        auto mem = y.number_or(m, "memory_gb", mw, 4);
        auto disk = y.number_or(m, "disk_gb", mw, 10);
        if (!cpus) return fail(cpus.error());
        if (!mem) return fail(mem.error());
        if (!disk) return fail(disk.error());
        plan.minima = {static_cast<unsigned>(*cpus), *mem, *disk};
    }
    return plan;
}

} // namespace

bool for_arch(const FileSpec& f, std::string_view arch)
{
    return f.arches.empty() || std::find(f.arches.begin(), f.arches.end(), arch) != f.arches.end();
}

std::vector<std::string> Profile::arches() const
{
    std::vector<std::string> out;
    for (const bundle::Platform& p : platforms)
        if (std::find(out.begin(), out.end(), p.arch) == out.end()) out.push_back(p.arch);
    return out;
}

Result<Manifests> for_arch(Manifests m, std::string_view arch)
{
    std::vector<std::string> has = m.profile.arches();
    std::erase_if(m.profile.platforms, [&](const bundle::Platform& p) { return p.arch != arch; });
    if (m.profile.platforms.empty())
        return fail(Errc::invalid_argument, "profile {} has no platform for {} (it has: {})", m.profile.name, arch, fmt::join(has, ", "));
    return m;
}

std::vector<const FileSpec*> Component::pinned_files() const
{
    std::vector<const FileSpec*> out;
    for (const FileSpec& f : files) out.push_back(&f);
    for (const AddonSpec& a : addons)
        if (a.remote) out.push_back(&*a.remote);
    return out;
}

std::vector<bundle::DebRequest> Manifests::deb_requests() const
{
    std::map<std::string, bundle::DebRequest> merged;
    bool restricted = false;
    for (const Component& c : components)
        for (const bundle::DebRequest& r : c.deb_requests) {
            restricted |= r.gpu || !r.roles.empty();
            auto [it, fresh] = merged.try_emplace(r.name, r);
            if (fresh) continue;
            bundle::DebRequest& m = it->second;
            m.gpu = m.gpu && r.gpu;
            if (m.roles.empty() || r.roles.empty()) m.roles.clear();
            else m.roles.insert(m.roles.end(), r.roles.begin(), r.roles.end());
            std::sort(m.roles.begin(), m.roles.end());
            m.roles.erase(std::unique(m.roles.begin(), m.roles.end()), m.roles.end());
        }
    std::vector<bundle::DebRequest> out;
    if (!restricted) return out;
    for (auto& [_, r] : merged) out.push_back(std::move(r));
    return out;
}

std::vector<std::string> Manifests::requested_debs() const
{
    std::vector<std::string> out;
    for (const Component& c : components)
        for (const bundle::DebRequest& r : c.deb_requests) out.push_back(r.name);
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::vector<ImageSpec> Manifests::requested_images() const
{
    std::map<std::string, ImageSpec> by_ref;
    for (const Component& c : components) {
        for (const ImageSpec& image : c.images) {
            auto [it, fresh] = by_ref.emplace(image.ref, image);
            if (fresh) continue;
            ImageSpec& merged = it->second;
            merged.import = merged.import || image.import;
            merged.airgap = merged.airgap || image.airgap;
            if (merged.roles.empty() || image.roles.empty()) merged.roles.clear();
            else {
                merged.roles.insert(merged.roles.end(), image.roles.begin(), image.roles.end());
                std::sort(merged.roles.begin(), merged.roles.end());
                merged.roles.erase(std::unique(merged.roles.begin(), merged.roles.end()), merged.roles.end());
            }
        }
    }
    std::vector<ImageSpec> out;
    for (auto& [ref, image] : by_ref) out.push_back(std::move(image));
    return out;
}

Result<Manifests> load_manifests(const fs::path& dir, const std::string& profile)
{
    if (!valid_name(profile)) return fail(Errc::invalid_argument, "profile name '{}' is not valid", profile);
    auto y = YamlReader::load(dir / "profiles" / (profile + ".yaml"));
    if (!y) return fail(y.error().wrap(fmt::format("profile '{}'", profile)));
    const YAML::Node& r = y->root();
    TRY_VOID(y->only_keys(r, "", {"name", "version", "description", "platforms", "components", "roles"}));
    Manifests m;
    Profile& p = m.profile;
    p.path = y->path();
    auto name = y->string(r, "name", "");
    if (!name) return fail(name.error());
    if (*name != profile) return fail(y->error(r["name"], "name", fmt::format("is '{}' but the file is named '{}'", *name, profile)));
    p.name = *name;
    auto version = y->string(r, "version", "");
    if (!version) return fail(version.error());
    p.version = *version;
    auto desc = y->string_or(r, "description", "", "");
    if (!desc) return fail(desc.error());
    p.description = *desc;
    auto platforms = y->list(r, "platforms", "");
    if (!platforms) return fail(platforms.error());
    if (platforms->empty()) return fail(y->error(r, "platforms", "missing or empty"));
    for (std::size_t i = 0; i < platforms->size(); ++i) {
        const YAML::Node& pn = (*platforms)[i];
        std::string where = fmt::format("platforms[{}]", i);
        TRY_VOID(y->only_keys(pn, where, {"os", "release", "arch"}));
        auto os = y->string(pn, "os", where);
        auto rel = y->string(pn, "release", where);
        auto arch = y->string(pn, "arch", where);
        if (!os) return fail(os.error());
        if (!rel) return fail(rel.error());
        if (!arch) return fail(arch.error());
        p.platforms.push_back({*os, *rel, *arch});
    }
    auto comps = y->strings_or_empty(r, "components", "");
    if (!comps) return fail(comps.error());
    p.component_names = *comps;
    YAML::Node roles = r["roles"];
    if (!roles || !roles.IsMap() || roles.size() == 0) return fail(y->error(roles ? roles : r, "roles", "want a mapping of roles"));
    for (const auto& kv : roles) {
        std::string role = kv.first.as<std::string>("");
        if (role != "master" && role != "worker") return fail(y->error(kv.first, "roles." + role, "unknown role (known: master, worker)"));
        auto plan = parse_role(*y, kv.second, "roles." + role);
        if (!plan) return fail(plan.error());
        p.roles.emplace(role, std::move(*plan));
    }
    for (const std::string& c : p.component_names) {
        if (!valid_name(c)) return fail(y->error(r["components"], "components", fmt::format("invalid component name '{}'", c)));
        auto comp = load_component(dir, c);
        if (!comp) return fail(comp.error());
        for (const FileSpec& f : comp->files)
            for (const std::string& role : f.roles)
                if (!p.roles.contains(role))
                    return fail(Errc::invalid_argument, "{}: {}: role '{}' is not a role of profile '{}'", f.where, f.name, role, p.name);
        for (const ImageSpec& image : comp->images)
            for (const std::string& role : image.roles)
                if (!p.roles.contains(role))
                    return fail(Errc::invalid_argument, "{}: image {}: role '{}' is not a role of profile '{}'", image.where,
                                image.ref, role, p.name);
        for (const AddonSpec& a : comp->addons)
            for (const Component& earlier : m.components)
                for (const AddonSpec& e : earlier.addons)
                    if (e.name == a.name)
                        return fail(Errc::invalid_argument, "{}: addon '{}' is already named by component {} ({})", a.where, a.name,
                                    earlier.name, e.where);
        m.components.push_back(std::move(*comp));
    }
    return m;
}

} // namespace common::manifest
