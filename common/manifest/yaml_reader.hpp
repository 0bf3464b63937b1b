// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>
#include <initializer_list>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include <common/util/error.hpp>

namespace common::manifest {

// Typed access to a YAML document whose errors name the file, line and field:
// "manifests/profiles/demo.yaml:7: field 'roles.master.phases': expected a list".
// Never throws; yaml-cpp's exceptions stop here.
class YamlReader {
public:
    // Loads and parses path (capped at 16 MiB).
    static Result<YamlReader> load(const std::filesystem::path& path);
    static Result<YamlReader> parse(std::string text, std::string display_path);

    const YAML::Node& root() const { return m_root; }
    const std::string& path() const { return m_path; }

    Error error(const YAML::Node& at, std::string_view field, std::string_view what) const;
    // Fails on keys outside `allowed` (catches typos such as "instal:").
    Result<void> only_keys(const YAML::Node& map, std::string_view where, std::initializer_list<std::string_view> allowed) const;
    Result<std::string> string(const YAML::Node& map, std::string_view key, std::string_view where) const;
    Result<std::string> string_or(const YAML::Node& map, std::string_view key, std::string_view where, std::string fallback) const;
    Result<std::uint64_t> uint(const YAML::Node& map, std::string_view key, std::string_view where) const;
    Result<double> number_or(const YAML::Node& map, std::string_view key, std::string_view where, double fallback) const;
    Result<std::vector<std::string>> strings_or_empty(const YAML::Node& map, std::string_view key, std::string_view where) const;
    // The sequence at key (empty when absent); fails if present and not a sequence.
    Result<std::vector<YAML::Node>> list(const YAML::Node& map, std::string_view key, std::string_view where) const;

private:
    YamlReader(YAML::Node root, std::string path) : m_root(std::move(root)), m_path(std::move(path)) {}
    YAML::Node m_root;
    std::string m_path;
};

} // namespace common::manifest
