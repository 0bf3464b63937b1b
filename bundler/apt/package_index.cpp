// SPDX-License-Identifier: Apache-2.0
#include <bundler/apt/package_index.hpp>

#include <common/deb/control.hpp>
#include <common/deb/version.hpp>

#include <algorithm>
#include <charconv>

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

Result<void> PackageIndex::add(std::string text, int source, const std::string& source_name)
{
    m_texts.push_back(std::move(text));
    return common::deb::for_each_paragraph(m_texts.back(), [&](const common::deb::Paragraph& p) -> Result<void> {
        std::string_view arch = p.get("Architecture");
        if (arch != m_arch && arch != "all") return {};
        auto note = [&](std::string_view name) { m_ids.emplace(name, m_ids.size() + 1); };
        note(p.get("Package"));
        for (const char* f : {"Pre-Depends", "Depends", "Conflicts", "Breaks", "Recommends", "Suggests", "Replaces", "Enhances", "Provides"})
            for_each_target(p.get(f), note);
        Package pkg;
        pkg.name = p.get("Package");
        pkg.version = p.get("Version");
        if (pkg.name.empty() || pkg.version.empty())
            return fail(Errc::corrupt, "{}: line {}: paragraph without Package or Version", source_name, p.line);
        pkg.arch = arch;
        pkg.multi_arch = p.get("Multi-Arch");
        pkg.priority = p.get("Priority");
        pkg.section = p.get("Section");
        pkg.filename = p.get("Filename");
        pkg.sha256 = p.get("SHA256");
        std::string_view size = p.get("Size");
        std::from_chars(size.data(), size.data() + size.size(), pkg.size);
        pkg.essential = p.get("Essential") == "yes";
        pkg.important = p.get("Important") == "yes" || p.get("Protected") == "yes";
        pkg.raw_depends = p.get("Depends");
        pkg.raw_pre_depends = p.get("Pre-Depends");
        pkg.raw_recommends = p.get("Recommends");
        pkg.raw_conflicts = p.get("Conflicts");
        pkg.raw_breaks = p.get("Breaks");
        pkg.source = source;
        pkg.line = p.line;
        if (std::string_view prov = p.get("Provides"); !prov.empty()) {
            auto rels = common::deb::parse_relations(prov);
            if (!rels) return fail(Errc::corrupt, "{}: line {}: {}: Provides: {}", source_name, p.line, pkg.name, rels.error().message);
            for (auto& alts : *rels)
                for (auto& r : alts) pkg.provides.push_back(std::move(r));
        }
        m_packages.push_back(std::move(pkg));
        const Package* stored = &m_packages.back();
        m_by_name[stored->name].push_back(stored);
        for (const common::deb::Relation& r : stored->provides) m_providers[r.name].push_back({stored, &r});
        return {};
    });
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
