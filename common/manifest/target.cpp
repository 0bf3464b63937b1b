// SPDX-License-Identifier: Apache-2.0
#include <common/manifest/target.hpp>

#include <common/manifest/yaml_reader.hpp>

namespace common::manifest {

namespace fs = std::filesystem;

std::string AptSource::describe() const
{
    if (flat) return url + " ./";
    return fmt::format("{} {} {}", url, suite, fmt::join(components, " "));
}

std::string target_name(const bundle::Platform& p)
{
    std::string name = p.os + "-" + p.release;
    return p.arch == "amd64" ? name : name + "-" + p.arch;
}

namespace {

Result<AptSource> parse_source(const YamlReader& y, const YAML::Node& n, const std::string& where, const fs::path& dir)
{
    TRY_VOID(y.only_keys(n, where, {"url", "suite", "components", "flat", "keyring", "check_valid_until"}));
    AptSource s;
    s.where = fmt::format("{}:{}", y.path(), n.Mark().line + 1);
    auto url = y.string(n, "url", where);
    if (!url) return fail(url.error());
    s.url = *url;
    while (s.url.ends_with('/')) s.url.pop_back();
    if (!s.url.starts_with("http://") && !s.url.starts_with("https://") && !s.url.starts_with("file://"))
        return fail(y.error(n["url"], where + ".url", "want an http://, https:// or file:// URL"));
    s.flat = n["flat"] && n["flat"].as<bool>(false);
    if (s.flat) {
        if (n["suite"] || n["components"]) return fail(y.error(n, where, "a flat repository has no suite or components"));
    } else {
        auto suite = y.string(n, "suite", where);
        if (!suite) return fail(suite.error());
        s.suite = *suite;
        auto comps = y.strings_or_empty(n, "components", where);
        if (!comps) return fail(comps.error());
        if (comps->empty()) return fail(y.error(n, where + ".components", "missing or empty"));
        s.components = *comps;
    }
    auto keyring = y.string(n, "keyring", where);
    if (!keyring) return fail(keyring.error());
    fs::path k(*keyring);
    s.keyring = k.is_absolute() ? k : fs::absolute(dir / k);
    s.check_valid_until = !n["check_valid_until"] || n["check_valid_until"].as<bool>(true);
    return s;
}

} // namespace

Result<Target> load_target(const fs::path& dir, const std::string& name)
{
    auto y = YamlReader::load(dir / "targets" / (name + ".yaml"));
    if (!y) return fail(y.error().wrap(fmt::format("target '{}'", name)));
    const YAML::Node& r = y->root();
    TRY_VOID(y->only_keys(r, "", {"name", "os", "release", "arch", "sources", "base"}));
    Target t;
    t.path = y->path();
    for (auto [field, out] : {std::pair{"name", &t.name}, {"os", &t.os}, {"release", &t.release}, {"arch", &t.arch}}) {
        auto v = y->string(r, field, "");
        if (!v) return fail(v.error());
        *out = *v;
    }
    if (t.name != name) return fail(y->error(r["name"], "name", fmt::format("is '{}' but the file is named '{}'", t.name, name)));
    if (target_name({t.os, t.release, t.arch}) != name)
        return fail(y->error(r, "name", fmt::format("want '{}' for os {} release {} arch {}",
                                                    target_name({t.os, t.release, t.arch}), t.os, t.release, t.arch)));
    auto sources = y->list(r, "sources", "");
    if (!sources) return fail(sources.error());
    if (sources->empty()) return fail(y->error(r, "sources", "missing or empty"));
    for (std::size_t i = 0; i < sources->size(); ++i) {
        auto s = parse_source(*y, (*sources)[i], fmt::format("sources[{}]", i), dir);
        if (!s) return fail(s.error());
        t.sources.push_back(std::move(*s));
    }
    if (YAML::Node base = r["base"]) {
        TRY_VOID(y->only_keys(base, "base", {"priority_required", "packages"}));
        t.base_priority_required = !base["priority_required"] || base["priority_required"].as<bool>(true);
        auto pkgs = y->strings_or_empty(base, "packages", "base");
        if (!pkgs) return fail(pkgs.error());
        t.base_packages = *pkgs;
    }
    return t;
}

} // namespace common::manifest
