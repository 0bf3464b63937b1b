// SPDX-License-Identifier: Apache-2.0
#include <bundler/apt/resolver.hpp>

#include <common/deb/version.hpp>

#include <algorithm>
#include <optional>

namespace bundler::apt {

using common::Errc;
using common::fail;
using common::deb::Op;
using common::deb::Relation;

namespace {

// apt's version Priority numbers: lower is preferred; a stanza without Priority gets 0.
int priority_number(std::string_view p)
{
    if (p == "required") return 1;
    if (p == "important") return 2;
    if (p == "standard") return 3;
    if (p == "optional") return 4;
    if (p == "extra") return 5;
    return 0;
}

bool arch_ok(const Relation& r, const Package& p)
{
    if (r.arch_qualifier.empty() || r.arch_qualifier == "native" || r.arch_qualifier == p.arch) return true;
    return r.arch_qualifier == "any" && p.multi_arch == "allowed";
}

constexpr std::size_t k_max_depth = 3000; // apt's limit too

} // namespace

void Resolver::set_installed(const std::vector<const Package*>& installed)
{
    m_installed.clear();
    for (const Package* p : installed) m_installed[p->name] = p;
}

const Package* Resolver::holder(std::string_view name) const
{
    if (auto it = m_marked.find(name); it != m_marked.end()) return it->second;
    if (auto it = m_installed.find(name); it != m_installed.end()) return it->second;
    return nullptr;
}

bool Resolver::relation_matches(const Relation& r, const Package& p) const
{
    if (p.name == r.name) return arch_ok(r, p) && common::deb::satisfies(std::string(p.version), r.op, r.version);
    for (const Relation& prov : p.provides) {
        if (prov.name != r.name) continue;
        if (!r.arch_qualifier.empty() && r.arch_qualifier != "native" && r.arch_qualifier != p.arch &&
            !(r.arch_qualifier == "any" && p.multi_arch == "allowed"))
            continue;
        if (r.op == Op::any) return true;
        // Only "Provides: x (= v)" meets a versioned dependency, and only if v satisfies it.
        if (prov.op == Op::eq && common::deb::satisfies(prov.version, r.op, r.version)) return true;
    }
    return false;
}

bool Resolver::satisfied(const Relation& r) const
{
    if (const Package* h = holder(r.name); h && relation_matches(r, *h)) return true;
    for (const auto& [prov, rel] : m_index.providers(r.name))
        if (holder(prov->name) == prov && relation_matches(r, *prov)) return true;
    return false;
}

bool Resolver::group_satisfied(const common::deb::Alternatives& group) const
{
    return std::any_of(group.begin(), group.end(), [&](const Relation& r) { return satisfied(r); });
}

// apt's IsInstallOk shallow check: every Pre-Depends/Depends group has a member that the install
// state or some candidate satisfies. Returns the first group that has none, as text.
std::optional<std::string> Resolver::uninstallable_because(const Package& p) const
{
    for (std::string_view field : {"Pre-Depends", "Depends"}) {
        auto groups = m_index.relations(p, field);
        if (!groups) return groups.error().message;
        for (const auto& group : **groups) {
            bool ok = group_satisfied(group);
            for (const Relation& r : group) {
                if (ok) break;
                if (const Package* c = m_index.candidate(r.name); c && relation_matches(r, *c)) ok = true;
                for (const auto& [prov, rel] : m_index.providers(r.name))
                    if (!ok && m_index.candidate(prov->name) == prov && relation_matches(r, *prov)) ok = true;
            }
            if (!ok) {
                std::vector<std::string> alts;
                for (const Relation& r : group) alts.push_back(r.str());
                return fmt::format("{}: no candidate satisfies '{}'", field, fmt::join(alts, " | "));
            }
        }
    }
    return std::nullopt;
}

std::string Resolver::chain_via(std::string_view parent, std::string_view name) const
{
    return parent.empty() ? fmt::format("requested {}", name) : fmt::format("{} -> {}", chain(parent), name);
}

// apt's getAllPossibleSolutions with CompareProviders.
std::vector<const Package*> Resolver::solutions(const common::deb::Alternatives& group) const
{
    std::vector<const Package*> installed, fresh;
    for (const Relation& r : group) {
        std::vector<const Package*> v;
        if (const Package* c = m_index.candidate(r.name); c && relation_matches(r, *c)) v.push_back(c);
        for (const auto& [prov, rel] : m_index.providers(r.name))
            if (m_index.candidate(prov->name) == prov && relation_matches(r, *prov) &&
                std::find(v.begin(), v.end(), prov) == v.end())
                v.push_back(prov);
        std::stable_sort(v.begin(), v.end(), [&](const Package* a, const Package* b) {
            bool ap = m_protected.contains(a->name), bp = m_protected.contains(b->name);
            if (ap != bp) return ap;
            bool ai = m_installed.contains(a->name), bi = m_installed.contains(b->name);
            if (ai != bi) return ai;
            bool at = a->name == r.name, bt = b->name == r.name;
            if (at != bt) return at;
            if (a->essential != b->essential) return a->essential;
            if (a->important != b->important) return a->important;
            int pa = priority_number(a->priority), pb = priority_number(b->priority);
            if (pa != pb) return pa < pb;
            return m_index.apt_id(a->name) > m_index.apt_id(b->name);
        });
        for (const Package* p : v) (m_installed.contains(p->name) ? installed : fresh).push_back(p);
    }
    installed.insert(installed.end(), fresh.begin(), fresh.end());
    installed.erase(std::unique(installed.begin(), installed.end()), installed.end());
    return installed;
}

Result<bool> Resolver::mark(const Package* p, std::string_view parent, std::size_t depth)
{
    if (holder(p->name)) return true;
    if (depth > k_max_depth || m_uninstallable.contains(p->name)) return false;
    if (auto why = uninstallable_because(*p)) {
        m_uninstallable.insert(p->name);
        m_last_failure = fmt::format("{} {} ({}) {}", p->name, p->version, chain_via(parent, p->name), *why);
        return false;
    }
    // Its own Conflicts/Breaks against what is installed or marked: we never remove or un-mark, so it fails.
    auto conflict = first_conflict(*p);
    if (!conflict) return fail(conflict.error());
    if (*conflict) {
        const Conflict& c = **conflict;
        m_last_failure = fmt::format("{} {} ({}) {} '{}', but {} {} is needed ({})", p->name, p->version,
                                     chain_via(parent, p->name), c.field, c.relation->str(), c.with->name, c.with->version,
                                     chain(c.with->name));
        return false;
    }
    m_marked[p->name] = p;
    m_parent[p->name] = std::string(parent);
    std::vector<std::string_view> fields{"Pre-Depends", "Depends"};
    if (m_recommends == Recommends::install) fields.push_back("Recommends");
    for (std::string_view field : fields) {
        bool critical = field != "Recommends";
        auto groups = m_index.relations(*p, field);
        if (!groups) return fail(groups.error());
        for (const common::deb::Alternatives& group : **groups) {
            if (group_satisfied(group)) continue;
            std::vector<const Package*> options = solutions(group);
            // apt-get marks every package it was asked for before it follows any dependency, so a group one
            // of them satisfies is satisfied (debootstrap's usr-is-merged for init-system-helpers'
            // "usrmerge | usr-is-merged"): those come first here.
            std::stable_partition(options.begin(), options.end(),
                                  [&](const Package* o) { return m_requested.contains(std::string(o->name)); });
            if (critical && options.size() == 1 && m_protected.contains(p->name)) m_protected.insert(options[0]->name);
            bool done = false;
            for (const Package* option : options) {
                auto ok = mark(option, p->name, depth + 1);
                if (!ok) return fail(ok.error());
                if ((done = *ok)) break;
            }
            if (!done && critical) {
                std::vector<std::string> alts;
                for (const Relation& r : group) alts.push_back(r.str());
                m_last_failure = fmt::format("{} {} {}: nothing installable satisfies '{}'{}", p->name, p->version, field,
                                             fmt::join(alts, " | "), m_last_failure.empty() ? "" : " (" + m_last_failure + ")");
                // apt's DiscardInstall: the package goes, what its attempt marked stays (until the sweep).
                m_marked.erase(p->name);
                m_uninstallable.insert(p->name);
                return false;
            }
        }
    }
    return true;
}

void Resolver::sweep(const std::vector<std::string>& roots)
{
    std::set<std::string_view> keep;
    std::vector<const Package*> todo;
    auto reach = [&](const Package* p) {
        if (m_marked.contains(p->name) && m_marked.at(p->name) == p && keep.insert(p->name).second) todo.push_back(p);
    };
    for (const std::string& r : roots)
        if (auto it = m_marked.find(r); it != m_marked.end()) reach(it->second);
    for (const auto& [name, p] : m_marked)
        if (p->essential || p->important) reach(p);
    while (!todo.empty()) {
        const Package* p = todo.back();
        todo.pop_back();
        for (std::string_view field : {"Pre-Depends", "Depends", "Recommends"}) {
            auto groups = m_index.relations(*p, field);
            if (!groups) continue;
            for (const auto& group : **groups)
                for (const Relation& r : group) {
                    if (const Package* h = holder(r.name); h && relation_matches(r, *h)) reach(h);
                    for (const auto& [prov, rel] : m_index.providers(r.name))
                        if (holder(prov->name) == prov && relation_matches(r, *prov)) reach(prov);
                }
        }
    }
    std::erase_if(m_marked, [&](const auto& kv) { return !keep.contains(kv.first); });
}

Result<const Package*> Resolver::requested_candidate(const std::string& name) const
{
    if (const Package* c = m_index.candidate(name)) return c;
    // As apt-get: a virtual package with exactly one provider stands for it; several must be chosen from.
    std::vector<const Package*> providers;
    for (const auto& [prov, rel] : m_index.providers(name))
        if (m_index.candidate(prov->name) == prov && std::find(providers.begin(), providers.end(), prov) == providers.end())
            providers.push_back(prov);
    if (providers.size() == 1) return providers.front();
    if (providers.empty()) return fail(Errc::not_found, "package '{}' is in none of the target's sources", name);
    std::vector<std::string_view> names;
    for (const Package* p : providers) names.push_back(p->name);
    return fail(Errc::failed_precondition, "'{}' is a virtual package provided by {}; name one of them", name, fmt::join(names, ", "));
}

Result<void> Resolver::install(const std::vector<std::string>& names)
{
    std::vector<const Package*> roots;
    for (const std::string& name : names) {
        auto c = requested_candidate(name);
        if (!c) return fail(c.error());
        roots.push_back(*c);
        m_protected.insert((*c)->name);
    }
    m_requested.clear();
    for (const Package* root : roots) m_requested.insert(std::string(root->name));
    std::vector<std::string> root_names;
    for (const Package* root : roots) {
        m_last_failure.clear();
        auto ok = mark(root, "", 0);
        if (!ok) return fail(ok.error());
        if (!*ok)
            return fail(Errc::failed_precondition, "cannot install {}: {}", root->name,
                        m_last_failure.empty() ? "not installable" : m_last_failure);
        root_names.emplace_back(root->name);
    }
    sweep(root_names);
    return {};
}

Result<std::optional<Resolver::Conflict>> Resolver::first_conflict(const Package& p) const
{
    for (std::string_view field : {"Conflicts", "Breaks"}) {
        auto groups = m_index.relations(p, field);
        if (!groups) return fail(groups.error());
        for (const auto& group : **groups) {
            for (const Relation& r : group) {
                if (const Package* q = holder(r.name); q && q != &p && relation_matches(r, *q)) return Conflict{field, &r, q};
                for (const auto& [prov, rel] : m_index.providers(r.name))
                    if (prov != &p && holder(prov->name) == prov && relation_matches(r, *prov)) return Conflict{field, &r, prov};
            }
        }
    }
    return std::nullopt;
}

Result<void> Resolver::check_conflicts() const
{
    for (const auto& [name, p] : m_marked) {
        auto conflict = first_conflict(*p);
        if (!conflict) return fail(conflict.error());
        if (const auto& c = *conflict)
            return fail(Errc::failed_precondition, "{} {} {} '{}' but {} {} is also needed ({}; {})", p->name, p->version,
                        c->field, c->relation->str(), c->with->name, c->with->version, chain(p->name), chain(c->with->name));
    }
    return {};
}

std::vector<const Package*> Resolver::marked() const
{
    std::vector<const Package*> out;
    for (const auto& [name, p] : m_marked) out.push_back(p);
    return out;
}

std::string Resolver::chain(std::string_view name) const
{
    if (m_installed.contains(name) && !m_marked.contains(name)) return fmt::format("{} (base)", name);
    std::vector<std::string> links{std::string(name)};
    std::string at(name);
    for (std::size_t guard = 0; guard < k_max_depth; ++guard) {
        auto it = m_parent.find(at);
        if (it == m_parent.end() || it->second.empty()) break;
        at = it->second;
        links.push_back(at);
    }
    std::reverse(links.begin(), links.end());
    return fmt::format("requested {}", fmt::join(links, " -> "));
}

Result<std::vector<const Package*>> base_set(const PackageIndex& index, bool priority_required,
                                             const std::vector<std::string>& extra)
{
    std::vector<std::string> roots = extra;
    if (priority_required) {
        // Priority is the archive's word (its override file), not the .deb's: a package counts as required
        // only if every source carrying its candidate version says so. A local repository indexed from
        // the .debs' own control files may say "required" where Debian says "important", and debootstrap
        // (reading Debian's index) leaves it out of the root; counting it in the base would leave it out
        // of the closure and apt on the node would miss it.
        for (std::string_view name : index.names()) {
            const Package* c = index.candidate(name);
            bool required = std::ranges::all_of(index.versions(name), [&](const Package* v) {
                return v->version != c->version || v->essential || v->priority == "required";
            });
            if (required) roots.emplace_back(name);
        }
        // debootstrap makes merged-/usr roots with usr-is-merged in place of usrmerge (which Debian 12 has
        // init-system-helpers depend on first, and which would pull in perl): a bookworm minbase root has
        // usr-is-merged and no perl. With it among the roots, that dependency is met as in the real root.
        if (!index.versions("usr-is-merged").empty()) roots.emplace_back("usr-is-merged");
    }
    Resolver r(index, Recommends::skip);
    if (auto ok = r.install(roots); !ok) return fail(ok.error().wrap("base set"));
    return r.marked();
}

} // namespace bundler::apt
