// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <common/deb/control.hpp>
#include <common/deb/relation.hpp>

namespace bundler::apt {

using common::Result;

// One version of one binary package from a Packages index: only the fields the resolver and the lock use,
// viewing storage its PackageIndex owns. Relation fields are parsed on first use.
struct Package {
    std::string_view name, version, arch, multi_arch, priority, filename, sha256, section;
    std::string_view raw_depends, raw_pre_depends, raw_recommends, raw_conflicts, raw_breaks;
    std::uint64_t size = 0;
    bool essential = false;
    bool important = false; // "Important: yes" or "Protected: yes"
    int source = 0;                              // which apt source (order in the target)
    std::vector<common::deb::Relation> provides; // parsed eagerly: the provider map needs it
    std::size_t line = 0;                        // of its stanza in its Packages file, for messages

    std::string id() const { return std::string(name) + " " + std::string(version) + " " + std::string(arch); }
};

// Every package version of a target's sources, for one architecture (plus "all").
class PackageIndex {
public:
    explicit PackageIndex(std::string arch) : m_arch(std::move(arch)) {}
    PackageIndex(const PackageIndex&) = delete;

    // Adds one Packages stanza (stanzas of other architectures are skipped), copying only the fields
    // Package has: the stanza's text need not outlive the call. Errors (corrupt) name the source and line.
    Result<void> add_paragraph(const common::deb::Paragraph& p, int source, std::string_view source_name);
    // Adds every stanza of a whole Packages text (tests; `bundler lock` streams with add_paragraph).
    Result<void> add(std::string_view text, int source, std::string_view source_name);
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
    // Bytes of field text the index holds (names and other repeated values once): what the index keeps
    // of the Packages streams it read.
    std::size_t retained_bytes() const { return m_retained; }

private:
    // Copies s into blocks the index owns (they never move) and returns a view of the copy.
    std::string_view keep(std::string_view s);
    // As keep(), one copy per distinct string: names, architectures, priorities, sections.
    std::string_view intern(std::string_view s);

    std::string m_arch;
    std::vector<std::unique_ptr<char[]>> m_blocks;
    char* m_next = nullptr; // free space in the block being filled
    std::size_t m_left = 0;
    std::size_t m_retained = 0;
    std::unordered_set<std::string_view> m_interned;
    std::deque<Package> m_packages;
    std::unordered_map<std::string_view, std::vector<const Package*>> m_by_name;
    std::unordered_map<std::string_view, std::size_t> m_ids;
    std::unordered_map<std::string_view, std::vector<std::pair<const Package*, const common::deb::Relation*>>> m_providers;
    mutable std::map<std::pair<const Package*, std::string_view>, std::vector<common::deb::Alternatives>> m_parsed;
};

} // namespace bundler::apt
