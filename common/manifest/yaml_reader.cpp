// SPDX-License-Identifier: Apache-2.0
#include <common/manifest/yaml_reader.hpp>

#include <common/io/file.hpp>

#include <algorithm>

namespace common::manifest {

namespace {
std::string join(std::string_view where, std::string_view key)
{
    return where.empty() ? std::string(key) : fmt::format("{}.{}", where, key);
}
} // namespace

Result<YamlReader> YamlReader::load(const std::filesystem::path& path)
{
    auto text = io::read_file(path);
    if (!text) return fail(text.error());
    return parse(std::move(*text), path.string());
}

Result<YamlReader> YamlReader::parse(std::string text, std::string display_path)
{
    try {
        YAML::Node root = YAML::Load(text);
        if (!root.IsMap()) return fail(Errc::invalid_argument, "{}: expected a mapping at the top level", display_path);
        return YamlReader(root, std::move(display_path));
    } catch (const YAML::Exception& e) {
        return fail(Errc::invalid_argument, "{}:{}:{}: {}", display_path, e.mark.line + 1, e.mark.column + 1, e.msg);
    }
}

Error YamlReader::error(const YAML::Node& at, std::string_view field, std::string_view what) const
{
    int line = at.IsDefined() ? at.Mark().line + 1 : 0;
    if (line <= 0) line = 1;
    return Error{Errc::invalid_argument, fmt::format("{}:{}: field '{}': {}", m_path, line, field, what)};
}

Result<void> YamlReader::only_keys(const YAML::Node& map, std::string_view where,
                                   std::initializer_list<std::string_view> allowed) const
{
    if (!map.IsMap()) return fail(error(map, where, "expected a mapping"));
    for (const auto& kv : map) {
        std::string key = kv.first.as<std::string>("");
        if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
            return fail(error(kv.first, join(where, key), "unknown field"));
    }
    return {};
}

Result<std::string> YamlReader::string(const YAML::Node& map, std::string_view key, std::string_view where) const
{
    YAML::Node v = map[std::string(key)];
    if (!v) return fail(error(map, join(where, key), "missing"));
    if (!v.IsScalar()) return fail(error(v, join(where, key), "expected a string"));
    std::string s = v.as<std::string>();
    if (s.empty()) return fail(error(v, join(where, key), "must not be empty"));
    return s;
}

Result<std::string> YamlReader::string_or(const YAML::Node& map, std::string_view key, std::string_view where,
                                          std::string fallback) const
{
    if (!map[std::string(key)]) return fallback;
    return string(map, key, where);
}

Result<std::uint64_t> YamlReader::uint(const YAML::Node& map, std::string_view key, std::string_view where) const
{
    YAML::Node v = map[std::string(key)];
    if (!v) return fail(error(map, join(where, key), "missing"));
    try {
        std::string s = v.as<std::string>();
        if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) throw YAML::Exception({}, "");
        return v.as<std::uint64_t>();
    } catch (const YAML::Exception&) {
        return fail(error(v, join(where, key), "expected a non-negative integer"));
    }
}

Result<double> YamlReader::number_or(const YAML::Node& map, std::string_view key, std::string_view where,
                                     double fallback) const
{
    YAML::Node v = map[std::string(key)];
    if (!v) return fallback;
    try {
        double d = v.as<double>();
        if (d < 0) throw YAML::Exception({}, "");
        return d;
    } catch (const YAML::Exception&) {
        return fail(error(v, join(where, key), "expected a non-negative number"));
    }
}

Result<std::vector<std::string>> YamlReader::strings_or_empty(const YAML::Node& map, std::string_view key,
                                                              std::string_view where) const
{
    std::vector<std::string> out;
    auto items = list(map, key, where);
    if (!items) return fail(items.error());
    for (const YAML::Node& item : *items) {
        if (!item.IsScalar()) return fail(error(item, join(where, key), "expected a list of strings"));
        out.push_back(item.as<std::string>());
    }
    return out;
}

Result<std::vector<YAML::Node>> YamlReader::list(const YAML::Node& map, std::string_view key, std::string_view where) const
{
    YAML::Node v = map[std::string(key)];
    if (!v || v.IsNull()) return std::vector<YAML::Node>{};
    if (!v.IsSequence()) return fail(error(v, join(where, key), "expected a list"));
    return std::vector<YAML::Node>(v.begin(), v.end());
}

} // namespace common::manifest
