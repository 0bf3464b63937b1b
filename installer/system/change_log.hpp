// SPDX-License-Identifier: Apache-2.0
// The change log: <state>/changes.jsonl, what the system seam changed on the node, written (and fsynced)
// before each change happens, so `reset` can undo every host phase, last change first, even after a
// crash in the middle of one. One JSON object a line:
//   {"seq":7,"phase":"binaries","op":"create","path":"/usr/local/bin/k3s","time":1700000000}
//   {"seq":8,"phase":"binaries","op":"replace","path":"/etc/motd","backup":true,"time":...}
//   {"undone":8}
// ops: create (a file or link that did not exist), replace / remove (the previous entry is kept as
// <state>/backups/<seq>, a hard link where the filesystem allows, else a copy with mode and owner),
// mkdir (a folder that did not exist), start (a service), tree (a folder the installer owns whole: undo
// removes it with everything in it), packages (Debian packages the node did not have, about to be
// installed; path lists their names, space-separated: undo purges those installed), uninstall (a script
// a program's own installer leaves, k3s-uninstall.sh say: undo runs it with sh in the root when it is
// there). Paths are node paths
// after resolution in the
// root, so an undo acts on the very entry that was changed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <common/io/file.hpp>
#include <installer/system/jsonl_file.hpp>

namespace installer::system {

enum class ChangeOp { create, replace, remove, mkdir, start, tree, packages, uninstall };

std::string_view to_string(ChangeOp op);

struct Change {
    std::uint64_t seq = 0;
    std::string phase;
    ChangeOp op = ChangeOp::create;
    std::string path;    // node path (files, links, folders), service name (start) or package names (packages)
    bool backup = false; // replace/remove: the previous entry is kept in backups/<seq>
};

class ChangeLog {
public:
    // Opens (creating) <state_dir>/changes.jsonl and <state_dir>/backups/.
    static common::Result<ChangeLog> open(const std::filesystem::path& state_dir);

    // The sequence number the next record() will use (names its backup).
    std::uint64_t next_seq() const { return m_next; }
    // Appends a change (its seq is assigned) and fsyncs before returning.
    common::Result<Change> record(Change change);
    // Marks a change undone, fsynced.
    common::Result<void> mark_undone(std::uint64_t seq);
    // Changes recorded and not undone, in the order they were made.
    std::vector<Change> pending() const;

    // The backups folder, open (for linkat/renameat), and its path.
    const common::io::File& backups() const { return m_backups; }
    static std::string backup_name(std::uint64_t seq) { return std::to_string(seq); }

private:
    ChangeLog(JsonlFile file, common::io::File backups) : m_file(std::move(file)), m_backups(std::move(backups)) {}
    JsonlFile m_file;
    common::io::File m_backups;
    std::vector<Change> m_changes;
    std::vector<std::uint64_t> m_undone;
    std::uint64_t m_next = 1;
};

} // namespace installer::system
