// SPDX-License-Identifier: Apache-2.0
#include <installer/phases/apt_select.hpp>

#include <map>
#include <set>
#include <string>

namespace installer::phases {

namespace {

struct Stanza {
    std::vector<std::vector<std::string>> depends; // each group: alternatives by name
};

std::string_view trim(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

// "libc6 (>= 2.34), python3:any | python3-minimal" -> [[libc6], [python3, python3-minimal]]
std::vector<std::vector<std::string>> parse_relations(std::string_view text)
{
    std::vector<std::vector<std::string>> out;
    while (!text.empty()) {
        std::size_t comma = text.find(',');
        std::string_view group = text.substr(0, comma);
        text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
        std::vector<std::string> alts;
        while (!group.empty()) {
            std::size_t bar = group.find('|');
            std::string_view alt = trim(group.substr(0, bar));
            group = bar == std::string_view::npos ? std::string_view{} : group.substr(bar + 1);
            std::size_t end = alt.find_first_of(" (:[<");
            alt = alt.substr(0, end);
            if (!alt.empty()) alts.emplace_back(alt);
        }
        if (!alts.empty()) out.push_back(std::move(alts));
    }
    return out;
}

// Package name -> its relations; provided name -> the packages providing it.
void parse_index(std::string_view text, std::map<std::string, Stanza>& stanzas, std::map<std::string, std::vector<std::string>>& provides)
{
    std::string name, field, value;
    std::map<std::string, std::string> fields;
    auto flush_field = [&] {
        if (!field.empty()) fields[field] = value;
        field.clear(), value.clear();
    };
    auto flush_stanza = [&] {
        flush_field();
        auto it = fields.find("Package");
        if (it != fields.end()) {
            std::string pkg(trim(it->second));
            Stanza& s = stanzas[pkg];
            for (const char* key : {"Pre-Depends", "Depends"})
                if (auto f = fields.find(key); f != fields.end())
                    for (auto& g : parse_relations(f->second)) s.depends.push_back(std::move(g));
            if (auto f = fields.find("Provides"); f != fields.end())
                for (auto& g : parse_relations(f->second))
                    for (auto& p : g) provides[p].push_back(pkg);
        }
        fields.clear();
    };
    while (!text.empty()) {
        std::size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        if (trim(line).empty()) {
            flush_stanza();
        } else if (line.front() == ' ' || line.front() == '\t') {
            value += ' ';
            value += trim(line);
        } else if (std::size_t colon = line.find(':'); colon != std::string_view::npos) {
            flush_field();
            field = std::string(line.substr(0, colon));
            value = std::string(trim(line.substr(colon + 1)));
        }
    }
    flush_stanza();
}

} // namespace

std::vector<common::bundle::DebEntry> node_debs(const std::vector<common::bundle::DebEntry>& closure, std::string_view packages_index,
                                                const std::vector<common::bundle::DebRequest>& requests, std::string_view role,
                                                bool has_gpu)
{
    bool all = true;
    for (const auto& r : requests) all = all && r.applies(role, has_gpu);
    if (all) return closure;

    std::map<std::string, Stanza> stanzas;
    std::map<std::string, std::vector<std::string>> provides;
    parse_index(packages_index, stanzas, provides);
    std::set<std::string> carried;
    for (const auto& d : closure) carried.insert(d.name);

    std::set<std::string> want;
    std::vector<std::string> todo;
    for (const auto& r : requests)
        if (r.applies(role, has_gpu) && carried.contains(r.name)) todo.push_back(r.name);
    while (!todo.empty()) {
        std::string name = std::move(todo.back());
        todo.pop_back();
        if (!want.insert(name).second) continue;
        auto it = stanzas.find(name);
        if (it == stanzas.end()) continue;
        for (const auto& group : it->second.depends) {
            std::string pick;
            for (const std::string& alt : group) {
                if (carried.contains(alt)) {
                    pick = alt;
                    break;
                }
                if (auto p = provides.find(alt); p != provides.end())
                    for (const std::string& by : p->second)
                        if (carried.contains(by)) {
                            pick = by;
                            break;
                        }
                if (!pick.empty()) break;
            }
            if (!pick.empty()) todo.push_back(pick);
        }
    }
    std::vector<common::bundle::DebEntry> out;
    for (const auto& d : closure)
        if (want.contains(d.name)) out.push_back(d);
    return out;
}

} // namespace installer::phases
