// SPDX-License-Identifier: Apache-2.0
#include <installer/node/state_purge.hpp>

#include <installer/node/node_paths.hpp>
#include <installer/system/change_log.hpp>
#include <installer/system/node_lock.hpp>

#include <algorithm>
#include <array>

namespace installer::node {

namespace {

namespace fs = std::filesystem;
using common::Errc;
using common::fail;
using common::Result;

// What the installer keeps in its state folder (node_paths.hpp, the change log, the phases' trees, the
// services' files): all that goes from a folder reached through a link.
constexpr std::array<std::string_view, 12> k_state_entries{"store",   "journal.jsonl", "changes.jsonl", "backups",
                                                           "preflight.json", "install.lock", "bundle.json",   "support",
                                                           "services", "registry",     "apt",           "tmp"};

// The resolved state folder must be a folder of its own inside the root: never the root, never above it.
Result<void> check_inside(const system::RootDir& root, const fs::path& state)
{
    fs::path rel = state.lexically_normal().lexically_relative(root.path().lexically_normal());
    if (rel.empty() || rel == "." || *rel.begin() == "..")
        return fail(Errc::failed_precondition, "purge: the state folder resolves to {}, which is not a folder inside the root {}",
                    state.string(), root.path().string());
    return {};
}

Result<void> remove_entry(const fs::path& path)
{
    std::error_code ec;
    fs::remove_all(path, ec); // removes links, never what they point to
    if (ec) return fail(Errc::io, "remove {}: {}", path.string(), ec.message());
    return {};
}

// Under the node lock: refuses while changes are pending, then removes the folder (or, through a link,
// the installer's entries in it).
Result<void> purge_folder(const system::RootDir& root, const NodePaths& paths, PurgeReport& report)
{
    TRY_VOID(check_inside(root, paths.state));
    auto lock = system::NodeLock::acquire(paths.lock);
    if (!lock) return fail(lock.error());
    std::error_code ec;
    if (fs::exists(paths.state / "changes.jsonl", ec)) {
        auto changes = system::ChangeLog::open(paths.state);
        if (!changes) return fail(changes.error());
        if (std::size_t pending = changes->pending().size(); pending > 0)
            return fail(Errc::failed_precondition,
                        "purge: {} recorded changes are not undone yet; run --reset first (it needs the change log and the "
                        "backups in {})",
                        pending, paths.state.string());
    }
    bool through_link = paths.state != root.host_path(NodePaths::k_state);
    if (!through_link) {
        TRY_VOID(remove_entry(paths.state));
        report.removed.push_back(paths.state.string());
        return {};
    }
    std::vector<fs::path> entries;
    for (const fs::directory_entry& e : fs::directory_iterator(paths.state, ec)) entries.push_back(e.path());
    if (ec) return fail(Errc::io, "list {}: {}", paths.state.string(), ec.message());
    for (const fs::path& e : entries) {
        std::string name = e.filename().string();
        if (std::find(k_state_entries.begin(), k_state_entries.end(), name) == k_state_entries.end()) {
            report.kept.push_back(fmt::format("{}: not the installer's", e.string()));
            continue;
        }
        TRY_VOID(remove_entry(e));
        report.removed.push_back(e.string());
    }
    report.kept.push_back(fmt::format("{}: {} leads there through a link", paths.state.string(), NodePaths::k_state));
    return {};
}

} // namespace

Result<PurgeReport> purge_state(const system::RootDir& root)
{
    auto paths = NodePaths::resolve(root, system::Create::no);
    if (!paths) return fail(paths.error());
    PurgeReport report;
    std::error_code ec;
    fs::file_status state = fs::symlink_status(paths->state, ec);
    if (fs::is_directory(state)) TRY_VOID(purge_folder(root, *paths, report));
    else if (fs::exists(state))
        return fail(Errc::failed_precondition, "purge: {} is not a folder", paths->state.string());
    if (fs::exists(fs::symlink_status(paths->log, ec))) {
        if (!fs::remove(paths->log, ec) || ec) return fail(Errc::io, "remove {}: {}", paths->log.string(), ec.message());
        report.removed.push_back(paths->log.string());
    }
    return report;
}

} // namespace installer::node
