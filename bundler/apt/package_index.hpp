// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <common/deb/relation.hpp>

namespace bundler::apt {

using common::Result;

// One version of one binary package from a Packages index. Relation fields are parsed on first use.
struct Package {
    std::string_view name, version, arch, multi_arch, priority, filename, sha256, section;
    std::string_view raw_depends, raw_pre_depends, raw_recommends, raw_conflicts, raw_breaks;
    std::uint64_t size = 0;
    bool essential = false;
    bool important = false; // "Important: yes" or "Protected: yes"
    int source = 0;                              // which apt source (order in the target)
    std::vector<common::deb::Relation> provides; // parsed eagerly: the provider map needs it
    std::size_t line = 0;                        // in its Packages text, for messages

    std::string id() const { return std::string(name) + " " + std::string(version) + " " + std::string(arch); }
};

// Every package version of a target's sources, for one architecture (plus "all").
class PackageIndex {
public:
    explicit PackageIndex(std::string arch) : m_arch(std::move(arch)) {}
    PackageIndex(const PackageIndex&) = delete;

    // Takes a Packages text (kept alive by the index). Errors name the source and line.
    Result<void> add(std::string text, int source, const std::string& source_name);
    // Sorts versions; call after the last add().
    void finish();

    // Versions of a real package, best candidate first (highest version; earlier source on a tie).
    const std::vector<const Package*>& versions(std::string_view name) const;
    const Package* candidate(std::string_view name) const;
    // Package versions that Provide `name`, with the Provides relation that does it.
    const std::vector<std::pair<const Package*, const common::deb::Relation*>>& providers(std::string_view name) const;
    // Every package name with a candidate, sorted.
    std::vector<std::string_view> names() const;
    // The order in which apt's cache would create the package (first mention as a stanza, a relation
    // target or a Provides, in source and field order); apt breaks provider ties by it (later wins).
    std::size_t apt_id(std::string_view name) const;

    // The parsed relation field (Depends, Pre-Depends, Recommends, Conflicts, Breaks), cached: the pointer
    // stays valid as long as the index.
    Result<const std::vector<common::deb::Alternatives>*> relations(const Package& p, std::string_view field) const;
    std::size_t size() const { return m_packages.size(); }
    const std::string& arch() const { return m_arch; }

private:
    std::string m_arch;
    std::deque<std::string> m_texts;
    std::deque<Package> m_packages;
    std::unordered_map<std::string_view, std::vector<const Package*>> m_by_name;
    std::unordered_map<std::string_view, std::size_t> m_ids;
    std::unordered_map<std::string_view, std::vector<std::pair<const Package*, const common::deb::Relation*>>> m_providers;
    mutable std::map<std::pair<const Package*, std::string_view>, std::vector<common::deb::Alternatives>> m_parsed;
};

} // namespace bundler::apt
