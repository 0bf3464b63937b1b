// SPDX-License-Identifier: Apache-2.0
#include <bundler/apt/package_index.hpp>

#include <common/deb/control.hpp>
#include <common/deb/version.hpp>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace bundler::apt {

using common::Errc;
using common::fail;

namespace {

// The package names a relation field mentions, in order (apt creates packages in this order).
template <class Fn>
void for_each_target(std::string_view field, Fn&& fn)
{
    std::size_t pos = 0;
    while (pos < field.size()) {
        while (pos < field.size() && (field[pos] == ' ' || field[pos] == '\n' || field[pos] == '\t' || field[pos] == ',' ||
                                      field[pos] == '|'))
            ++pos;
        std::size_t start = pos;
        while (pos < field.size() && field[pos] != ' ' && field[pos] != '\n' && field[pos] != '\t' && field[pos] != ',' &&
               field[pos] != '|' && field[pos] != '(' && field[pos] != ':')
            ++pos;
        if (pos > start) fn(field.substr(start, pos - start));
        while (pos < field.size() && field[pos] != ',' && field[pos] != '|') ++pos;
    }
}

} // namespace

std::size_t PackageIndex::apt_id(std::string_view name) const
{
    auto it = m_ids.find(name);
    return it == m_ids.end() ? 0 : it->second;
}

std::string_view PackageIndex::keep(std::string_view s)
{
    if (s.empty()) return {};
    constexpr std::size_t k_block = 256u << 10;
    m_retained += s.size();
    if (s.size() > k_block / 4) { // a long value gets a block of its own
        m_blocks.push_back(std::make_unique_for_overwrite<char[]>(s.size()));
        std::memcpy(m_blocks.back().get(), s.data(), s.size());
        return {m_blocks.back().get(), s.size()};
    }
    if (s.size() > m_left) {
        m_blocks.push_back(std::make_unique_for_overwrite<char[]>(k_block));
        m_next = m_blocks.back().get();
        m_left = k_block;
    }
    std::memcpy(m_next, s.data(), s.size());
    std::string_view out(m_next, s.size());
    m_next += s.size();
    m_left -= s.size();
    return out;
}

std::string_view PackageIndex::intern(std::string_view s)
{
    if (auto it = m_interned.find(s); it != m_interned.end()) return *it;
    std::string_view kept = keep(s);
    m_interned.insert(kept);
    return kept;
}

Result<void> PackageIndex::add(std::string_view text, int source, std::string_view source_name)
{
    auto r = common::deb::for_each_paragraph(text, [&](const common::deb::Paragraph& p) { return add_paragraph(p, source, source_name); });
    if (!r && r.error().code == Errc::invalid_argument) return fail(Errc::corrupt, "{}: {}", source_name, r.error().message);
    return r;
}

Result<void> PackageIndex::add_paragraph(const common::deb::Paragraph& p, int source, std::string_view source_name)
{
    std::string_view arch = p.get("Architecture");
    if (arch != m_arch && arch != "all") return {};
    std::string_view name = p.get("Package");
    std::string_view version = p.get("Version");
    if (name.empty() || version.empty())
        return fail(Errc::corrupt, "{}: line {}: paragraph without Package or Version", source_name, p.line);
    // A stanza without Size is indexed (as apt does; closure refuses to pin it); a Size that is there
    // must be a whole byte count.
    std::string_view size = p.get("Size");
    std::uint64_t bytes = 0;
    auto [end, ec] = std::from_chars(size.data(), size.data() + size.size(), bytes);
    if (p.has("Size") && (size.empty() || ec != std::errc{} || end != size.data() + size.size()))
        return fail(Errc::corrupt, "{}: line {}: {}: Size '{}' is not a byte count{}", source_name, p.line, name, size,
                    ec == std::errc::result_out_of_range ? " (out of range)" : "");
    // apt creates packages in the order of first mention: the stanza, then its relations in this order.
    auto note = [&](std::string_view mentioned) {
        if (!m_ids.contains(mentioned)) m_ids.emplace(intern(mentioned), m_ids.size() + 1);
    };
    note(name);
    for (const char* f : {"Pre-Depends", "Depends", "Conflicts", "Breaks", "Recommends", "Suggests", "Replaces", "Enhances", "Provides"})
        for_each_target(p.get(f), note);
    Package pkg;
    pkg.name = intern(name);
    pkg.version = keep(version);
    pkg.arch = intern(arch);
    pkg.multi_arch = intern(p.get("Multi-Arch"));
    pkg.priority = intern(p.get("Priority"));
    pkg.section = intern(p.get("Section"));
    pkg.filename = keep(p.get("Filename"));
    pkg.sha256 = keep(p.get("SHA256"));
    pkg.size = bytes;
    pkg.essential = p.get("Essential") == "yes";
    pkg.important = p.get("Important") == "yes" || p.get("Protected") == "yes";
    pkg.raw_depends = keep(p.get("Depends"));
    pkg.raw_pre_depends = keep(p.get("Pre-Depends"));
    pkg.raw_recommends = keep(p.get("Recommends"));
    pkg.raw_conflicts = keep(p.get("Conflicts"));
    pkg.raw_breaks = keep(p.get("Breaks"));
    pkg.source = source;
    pkg.line = p.line;
    if (std::string_view prov = p.get("Provides"); !prov.empty()) {
        auto rels = common::deb::parse_relations(prov);
        if (!rels) return fail(Errc::corrupt, "{}: line {}: {}: Provides: {}", source_name, p.line, name, rels.error().message);
        for (auto& alts : *rels)
            for (auto& r : alts) pkg.provides.push_back(std::move(r));
    }
    m_packages.push_back(std::move(pkg));
    const Package* stored = &m_packages.back();
    m_by_name[stored->name].push_back(stored);
    for (const common::deb::Relation& r : stored->provides) m_providers[r.name].push_back({stored, &r});
    return {};
}

void PackageIndex::finish()
{
    for (auto& [name, list] : m_by_name) {
        std::stable_sort(list.begin(), list.end(), [](const Package* a, const Package* b) {
            int c = common::deb::compare_versions(a->version, b->version);
            if (c != 0) return c > 0;
            return a->source < b->source;
        });
    }
}

const std::vector<const Package*>& PackageIndex::versions(std::string_view name) const
{
    static const std::vector<const Package*> none;
    auto it = m_by_name.find(name);
    return it == m_by_name.end() ? none : it->second;
}

const Package* PackageIndex::candidate(std::string_view name) const
{
    const auto& v = versions(name);
    return v.empty() ? nullptr : v.front();
}

const std::vector<std::pair<const Package*, const common::deb::Relation*>>& PackageIndex::providers(std::string_view name) const
{
    static const std::vector<std::pair<const Package*, const common::deb::Relation*>> none;
    auto it = m_providers.find(name);
    return it == m_providers.end() ? none : it->second;
}

std::vector<std::string_view> PackageIndex::names() const
{
    std::vector<std::string_view> out;
    for (const auto& [name, list] : m_by_name) out.push_back(name);
    std::sort(out.begin(), out.end());
    return out;
}

Result<const std::vector<common::deb::Alternatives>*> PackageIndex::relations(const Package& p, std::string_view field) const
{
    auto key = std::pair{&p, field};
    if (auto it = m_parsed.find(key); it != m_parsed.end()) return &it->second;
    std::string_view raw = field == "Depends"       ? p.raw_depends
                           : field == "Pre-Depends" ? p.raw_pre_depends
                           : field == "Recommends"  ? p.raw_recommends
                           : field == "Conflicts"   ? p.raw_conflicts
                           : field == "Breaks"      ? p.raw_breaks
                                                    : std::string_view{};
    auto rels = common::deb::parse_relations(raw);
    if (!rels) return fail(Errc::corrupt, "{}: {}: {}", p.id(), field, rels.error().message);
    return &m_parsed.emplace(key, std::move(*rels)).first->second;
}

} // namespace bundler::apt
