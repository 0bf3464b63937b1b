// SPDX-License-Identifier: Apache-2.0
// `--reset --purge`: once every recorded change is undone, the installer's own state goes too (the store,
// journal, change log and backups, preflight results, support bundles, the services' pid files and logs,
// the registry and apt trees) and so does its log, so the root is as it was before the first install.
#pragma once

#include <string>
#include <vector>

#include <installer/system/root_dir.hpp>

namespace installer::node {

struct PurgeReport {
    std::vector<std::string> removed; // host paths removed (the state folder, the log)
    std::vector<std::string> kept;    // what was left, and why
};

// Removes the state folder as NodePaths resolves it in the root, with everything in it (a link in it is
// removed, never followed), then the log file (a link there: the link). The node lock is held meanwhile.
// Reached through a link (the operator put the state elsewhere in the root), the folder and the link
// stay and only the installer's own entries in it go. Errors: failed_precondition when recorded changes
// are not undone yet (--reset needs the change log and backups), busy when an installer runs, io.
common::Result<PurgeReport> purge_state(const system::RootDir& root);

} // namespace installer::node
