// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <bundler/apt/package_index.hpp>

namespace bundler::apt {

enum class Recommends { skip, install };

// Marks packages for installation the way apt 2.6's pkgDepCache::MarkInstall does on a system whose
// installed versions are the candidates (the target's base set), with Install-Recommends off by default:
// - only candidate versions; a package whose Depends cannot all be met even shallowly is not installable;
// - depth first; each Pre-Depends/Depends group (field order) is skipped if the installed or marked set
//   already satisfies it, otherwise its solutions are tried in apt's order: per alternative in textual
//   order, the target's candidate and its providers' candidates sorted by CompareProviders (protected,
//   installed, the target itself, Essential, Important, Priority, later cache id); installed ones first;
// - a failed attempt falls through to the next solution; if none works the package is not installed;
// - protection flows from requested packages to critical dependencies with a single solution;
// - afterwards packages marked by failed attempts that nothing needs are swept, as apt's autoremove does.
// Conflicts and Breaks with the installed or marked set make a closure impossible; errors name the chains.
class Resolver {
public:
    Resolver(const PackageIndex& index, Recommends recommends) : m_index(index), m_recommends(recommends) {}

    // Treat these package versions as installed (the target's base set).
    void set_installed(const std::vector<const Package*>& installed);
    // Marks `names` (and their closure) for installation, then sweeps what failed attempts left.
    Result<void> install(const std::vector<std::string>& names);
    // Checks Conflicts/Breaks across installed and marked packages.
    Result<void> check_conflicts() const;

    // What install() marked (not the installed set), sorted by name.
    std::vector<const Package*> marked() const;
    // "requested jq -> libjq1 -> libonig5": why a package was marked.
    std::string chain(std::string_view name) const;

private:
    // A Conflicts/Breaks relation of a package that an installed or marked package (not itself) meets.
    struct Conflict {
        std::string_view field;
        const common::deb::Relation* relation;
        const Package* with;
    };
    Result<std::optional<Conflict>> first_conflict(const Package& p) const;
    Result<const Package*> requested_candidate(const std::string& name) const;
    Result<bool> mark(const Package* p, std::string_view parent, std::size_t depth);
    std::optional<std::string> uninstallable_because(const Package& p) const;
    std::string chain_via(std::string_view parent, std::string_view name) const;
    bool satisfied(const common::deb::Relation& r) const;
    bool group_satisfied(const common::deb::Alternatives& group) const;
    std::vector<const Package*> solutions(const common::deb::Alternatives& group) const;
    bool relation_matches(const common::deb::Relation& r, const Package& p) const;
    const Package* holder(std::string_view name) const;
    void sweep(const std::vector<std::string>& roots);

    const PackageIndex& m_index;
    Recommends m_recommends;
    std::map<std::string_view, const Package*> m_installed;
    std::set<std::string> m_requested; // the names install() was given, preferred where they satisfy a group
    std::map<std::string_view, const Package*> m_marked;
    std::set<std::string_view> m_protected;
    std::set<std::string_view> m_uninstallable; // apt drops the candidate for the rest of the run
    std::map<std::string_view, std::string> m_parent;
    std::string m_last_failure;
};

// The base set of a target: Essential: yes and Priority: required packages (when asked) and `extra`,
// with their dependency closure.
Result<std::vector<const Package*>> base_set(const PackageIndex& index, bool priority_required,
                                             const std::vector<std::string>& extra);

} // namespace bundler::apt
