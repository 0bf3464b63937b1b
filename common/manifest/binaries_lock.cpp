// SPDX-License-Identifier: Apache-2.0
#include <common/manifest/binaries_lock.hpp>

#include <common/manifest/yaml_reader.hpp>

#include <algorithm>
#include <set>
#include <utility>

namespace common::manifest {

const BinaryPin* BinariesLock::find(std::string_view url) const
{
    auto it = std::find_if(pins.begin(), pins.end(), [&](const BinaryPin& p) { return p.url == url; });
    return it == pins.end() ? nullptr : &*it;
}

BinaryPin* BinariesLock::find(std::string_view url)
{
    return const_cast<BinaryPin*>(std::as_const(*this).find(url));
}

std::string BinariesLock::to_yaml() const
{
    std::vector<BinaryPin> sorted = pins;
    std::sort(sorted.begin(), sorted.end(), [](const BinaryPin& a, const BinaryPin& b) { return a.url < b.url; });
    YAML::Emitter out;
    out << YAML::BeginMap << YAML::Key << "version" << YAML::Value << 1 << YAML::Key << "binaries" << YAML::Value
        << YAML::BeginSeq;
    for (const BinaryPin& p : sorted) {
        out << YAML::BeginMap << YAML::Key << "url" << YAML::Value << p.url << YAML::Key << "name" << YAML::Value << p.name
            << YAML::Key << "size" << YAML::Value << p.blob.size << YAML::Key << "sha256" << YAML::Value
            << p.blob.digest.hex() << YAML::Key << "source" << YAML::Value << p.source << YAML::EndMap;
    }
    out << YAML::EndSeq << YAML::EndMap;
    return "# binaries.lock: pins written by `bundler lock`. Edit the manifests, not this file.\n" +
           std::string(out.c_str()) + "\n";
}

Result<BinariesLock> BinariesLock::load(const std::filesystem::path& path)
{
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return BinariesLock{};
    auto y = YamlReader::load(path);
    if (!y) return fail(y.error());
    const YAML::Node& r = y->root();
    TRY_VOID(y->only_keys(r, "", {"version", "binaries"}));
    auto version = y->uint(r, "version", "");
    if (!version) return fail(version.error());
    if (*version != 1) return fail(y->error(r["version"], "version", "unsupported lock version (want 1)"));
    auto items = y->list(r, "binaries", "");
    if (!items) return fail(items.error());
    BinariesLock lock;
    std::set<std::string> urls;
    for (std::size_t i = 0; i < items->size(); ++i) {
        const YAML::Node& n = (*items)[i];
        std::string where = fmt::format("binaries[{}]", i);
        TRY_VOID(y->only_keys(n, where, {"url", "name", "size", "sha256", "source"}));
        BinaryPin pin;
        auto url = y->string(n, "url", where);
        auto name = y->string(n, "name", where);
        auto size = y->uint(n, "size", where);
        auto sha = y->string(n, "sha256", where);
        auto source = y->string_or(n, "source", where, "");
        if (!url) return fail(url.error());
        if (!name) return fail(name.error());
        if (!size) return fail(size.error());
        if (!sha) return fail(sha.error());
        if (!source) return fail(source.error());
        auto d = digest::Digest::parse(*sha);
        if (!d) return fail(y->error(n["sha256"], where + ".sha256", d.error().message));
        if (!urls.insert(*url).second) return fail(y->error(n["url"], where + ".url", "url pinned twice"));
        lock.pins.push_back({*url, *name, {*d, *size}, *source});
    }
    return lock;
}

} // namespace common::manifest
