// SPDX-License-Identifier: Apache-2.0
#include <common/manifest/debs_lock.hpp>

#include <common/manifest/yaml_reader.hpp>

#include <algorithm>

namespace common::manifest {

const TargetPins* DebsLock::find(std::string_view target) const
{
    auto it = std::find_if(targets.begin(), targets.end(), [&](const TargetPins& t) { return t.name == target; });
    return it == targets.end() ? nullptr : &*it;
}

void DebsLock::put(TargetPins pins)
{
    auto it = std::find_if(targets.begin(), targets.end(), [&](const TargetPins& t) { return t.name == pins.name; });
    if (it != targets.end()) *it = std::move(pins);
    else targets.push_back(std::move(pins));
}

std::string DebsLock::to_yaml() const
{
    std::vector<TargetPins> sorted = targets;
    std::sort(sorted.begin(), sorted.end(), [](const TargetPins& a, const TargetPins& b) { return a.name < b.name; });
    YAML::Emitter out;
    out << YAML::BeginMap << YAML::Key << "version" << YAML::Value << 1 << YAML::Key << "targets" << YAML::Value << YAML::BeginSeq;
    for (TargetPins& t : sorted) {
        std::sort(t.requested.begin(), t.requested.end());
        std::sort(t.packages.begin(), t.packages.end(), [](const DebPin& a, const DebPin& b) {
            return std::tie(a.name, a.architecture) < std::tie(b.name, b.architecture);
        });
        out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << t.name;
        out << YAML::Key << "requested" << YAML::Value << YAML::Flow << t.requested;
        out << YAML::Key << "sources" << YAML::Value << YAML::BeginSeq;
        for (const SourcePin& s : t.sources)
            out << YAML::Flow << YAML::BeginMap << YAML::Key << "source" << YAML::Value << s.source << YAML::Key
                << "release_sha256" << YAML::Value << s.release_sha256 << YAML::Key << "date" << YAML::Value << s.date
                << YAML::EndMap;
        out << YAML::EndSeq << YAML::Key << "packages" << YAML::Value << YAML::BeginSeq;
        for (const DebPin& p : t.packages)
            out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << p.name << YAML::Key << "version" << YAML::Value
                << YAML::DoubleQuoted << p.version << YAML::Key << "architecture" << YAML::Value << p.architecture
                << YAML::Key << "size" << YAML::Value << p.blob.size << YAML::Key << "sha256" << YAML::Value
                << p.blob.digest.hex() << YAML::Key << "source" << YAML::Value << p.source << YAML::Key << "path"
                << YAML::Value << p.path << YAML::EndMap;
        out << YAML::EndSeq << YAML::EndMap;
    }
    out << YAML::EndSeq << YAML::EndMap;
    return "# debs.lock: .deb closures pinned by `bundler lock`. Edit the manifests, not this file.\n" +
           std::string(out.c_str()) + "\n";
}

Result<DebsLock> DebsLock::load(const std::filesystem::path& path)
{
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return DebsLock{};
    auto y = YamlReader::load(path);
    if (!y) return fail(y.error());
    const YAML::Node& r = y->root();
    TRY_VOID(y->only_keys(r, "", {"version", "targets"}));
    auto version = y->uint(r, "version", "");
    if (!version) return fail(version.error());
    if (*version != 1) return fail(y->error(r["version"], "version", "unsupported lock version (want 1)"));
    auto targets = y->list(r, "targets", "");
    if (!targets) return fail(targets.error());
    DebsLock lock;
    for (std::size_t i = 0; i < targets->size(); ++i) {
        const YAML::Node& tn = (*targets)[i];
        std::string where = fmt::format("targets[{}]", i);
        TRY_VOID(y->only_keys(tn, where, {"name", "requested", "sources", "packages"}));
        TargetPins t;
        auto name = y->string(tn, "name", where);
        if (!name) return fail(name.error());
        t.name = *name;
        auto requested = y->strings_or_empty(tn, "requested", where);
        if (!requested) return fail(requested.error());
        t.requested = *requested;
        auto sources = y->list(tn, "sources", where);
        if (!sources) return fail(sources.error());
        for (std::size_t j = 0; j < sources->size(); ++j) {
            const YAML::Node& sn = (*sources)[j];
            std::string sw = fmt::format("{}.sources[{}]", where, j);
            TRY_VOID(y->only_keys(sn, sw, {"source", "release_sha256", "date"}));
            auto src = y->string(sn, "source", sw);
            auto sha = y->string(sn, "release_sha256", sw);
            auto date = y->string_or(sn, "date", sw, "");
            if (!src) return fail(src.error());
            if (!sha) return fail(sha.error());
            if (!date) return fail(date.error());
            t.sources.push_back({*src, *sha, *date});
        }
        auto packages = y->list(tn, "packages", where);
        if (!packages) return fail(packages.error());
        for (std::size_t j = 0; j < packages->size(); ++j) {
            const YAML::Node& pn = (*packages)[j];
            std::string pw = fmt::format("{}.packages[{}]", where, j);
            TRY_VOID(y->only_keys(pn, pw, {"name", "version", "architecture", "size", "sha256", "source", "path"}));
            DebPin p;
            for (auto [field, out] : {std::pair{"name", &p.name}, {"version", &p.version}, {"architecture", &p.architecture},
                                      {"source", &p.source}, {"path", &p.path}}) {
                auto v = y->string(pn, field, pw);
                if (!v) return fail(v.error());
                *out = *v;
            }
            auto size = y->uint(pn, "size", pw);
            if (!size) return fail(size.error());
            auto sha = y->string(pn, "sha256", pw);
            if (!sha) return fail(sha.error());
            auto d = digest::Digest::parse(*sha);
            if (!d) return fail(y->error(pn["sha256"], pw + ".sha256", d.error().message));
            if (p.path.find("..") != std::string::npos || p.path.starts_with('/'))
                return fail(y->error(pn["path"], pw + ".path", "must be a relative path without '..'"));
            p.blob = {*d, *size};
            t.packages.push_back(std::move(p));
        }
        lock.targets.push_back(std::move(t));
    }
    return lock;
}

} // namespace common::manifest
