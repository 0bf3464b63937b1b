// SPDX-License-Identifier: Apache-2.0
// The system seam: every action a phase takes on the node goes through System. Paths are node paths
// ("/etc/rancher/k3s/config.yaml"), resolved inside the target root (RootDir), never through a symlink
// out of it. Each change is journaled in the change log before it happens (ChangeLog), so `reset` can
// undo it. HostSystem acts on the node; RecordingSystem stands in for tests (it records commands and
// services instead of running them).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

#include <common/digest/sha256.hpp>
#include <common/io/stream.hpp>
#include <common/store/blob_store.hpp>

namespace installer::system {

using common::Result;

struct FileOptions {
    unsigned mode = 0644;
    std::optional<uid_t> uid; // owner; unset: the installer's (root)
    std::optional<gid_t> gid;
};

enum class FileKind { missing, regular, directory, symlink, other };

// What is at a node path (the last component not followed).
struct FileInfo {
    FileKind kind = FileKind::missing;
    unsigned mode = 0; // permission bits (07777)
    std::uint64_t size = 0;
    uid_t uid = 0;
    gid_t gid = 0;
    dev_t dev = 0; // with ino: the same file (a hard link of it) has the same pair
    ino_t ino = 0;
};

// One entry of a tree the installer owns (seed_tree): a hard link to an existing file, or a small file.
struct TreeEntry {
    std::string path;      // relative to the tree, "/"-separated, plain names only
    std::string link_from; // node path of the file to hard-link (a store blob); empty: write `content`
    std::string content;
};

enum class InRoot { yes, no };

struct Command {
    std::vector<std::string> argv;          // argv[0] absolute, or searched in the PATH below
    std::map<std::string, std::string> env; // added to PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin, LC_ALL=C
    std::chrono::seconds timeout{600};      // then SIGTERM to its process group, SIGKILL 5 s later
    InRoot in_root = InRoot::yes;           // chroot into the target root first (when it is not "/")
};

struct CommandResult {
    int exit_code = 0;  // 128+N when killed by signal N
    std::string output; // stdout and stderr interleaved, the last 1 MiB

    // The last `max` bytes of the output: what an error message quotes (the whole is in the log).
    std::string tail(std::size_t max) const { return output.size() > max ? output.substr(output.size() - max) : output; }
};

// A long-running service: a systemd unit on a systemd host, a supervised-by-nobody process with a pid
// file elsewhere (containers, --root installs, tests).
struct ServiceSpec {
    std::string name;                       // unit name without ".service": [a-z0-9-]+
    std::string description;
    std::vector<std::string> exec;          // ExecStart argv; paths are node paths
    std::map<std::string, std::string> env; // Environment=
};

struct UndoReport {
    std::size_t undone = 0;
    std::vector<std::string> kept; // what could not be taken back as it was, and why (a folder no longer empty)
};

class System {
public:
    virtual ~System() = default;

    // Tags the changes that follow with this phase.
    virtual void begin_phase(std::string_view phase) = 0;

    // Reads. not_found only when a folder on the way is missing and that matters (read_file, hash_file).
    virtual Result<FileInfo> stat(std::string_view path) = 0;
    virtual Result<std::string> read_file(std::string_view path, std::uint64_t max_bytes) = 0;
    virtual Result<common::digest::FileDigest> hash_file(std::string_view path) = 0;
    // Who holds a write lock (fcntl, as dpkg and apt take them) on the file: "name (pid N)", or empty when
    // nobody does or the file is missing.
    virtual Result<std::string> lock_holder(std::string_view path) = 0;

    // Changes, each atomic (a temp file beside the target, fsynced, renamed, the folder fsynced) and
    // journaled before it happens. Missing folders are created (0755) and journaled too.
    virtual Result<void> write_file(std::string_view path, std::string_view content, const FileOptions& options) = 0;
    // Writes what `data` gives (streamed; the source may check digests and fail mid-way, leaving path as it was).
    virtual Result<void> write_from(std::string_view path, common::io::Source& data, const FileOptions& options) = 0;
    // Copies a store blob to path, checking its size and digest on the way (digest_mismatch/size_mismatch
    // name the stored blob).
    virtual Result<void> install_blob(std::string_view path, const common::store::BlobStore& store,
                                      const common::store::BlobRef& blob, const FileOptions& options) = 0;
    virtual Result<void> make_dir(std::string_view path, unsigned mode) = 0;
    virtual Result<void> symlink(std::string_view target, std::string_view path) = 0;
    // A hard link at path to the existing file (both node paths, on one filesystem).
    virtual Result<void> hard_link(std::string_view existing, std::string_view path) = 0;
    // Removes a file or link (kept as a backup for undo); a missing one is not an error.
    virtual Result<void> remove(std::string_view path) = 0;
    // Fills a folder the installer owns whole (journaled once, when it is created; undo removes it with
    // all it holds): each entry hard-linked or written unless already so; returns how many changed. The
    // entries are not journaled one by one, and are made durable together: thousands of links in
    // milliseconds. Refuses a link inside the tree.
    virtual Result<std::size_t> seed_tree(std::string_view dir, const std::vector<TreeEntry>& entries) = 0;

    // Journals Debian packages the node does not have, before a command (apt-get install) installs them:
    // undo purges those then installed (dpkg --purge in the root), config files and all.
    virtual Result<void> journal_packages(const std::vector<std::string>& names) = 0;
    // Journals the uninstall script a command is about to leave (upstream install scripts write one, as
    // k3s's does): undo runs it (sh, in the root) if it exists then.
    virtual Result<void> journal_uninstall(std::string_view script) = 0;

    // Runs a command to its end; failed_precondition when it outlives its timeout. A non-zero exit is a
    // result, not an error.
    virtual Result<CommandResult> run(const Command& command) = 0;

    // Writes the unit (/etc/systemd/system/<name>.service) and enables it at boot.
    virtual Result<void> install_service(const ServiceSpec& spec) = 0;
    virtual Result<void> start_service(std::string_view name) = 0;
    virtual Result<void> stop_service(std::string_view name) = 0;
    virtual Result<bool> service_active(std::string_view name) = 0;
    // Where an operator reads a service's output: its log file, or how to ask journalctl.
    virtual std::string service_log(std::string_view name) const = 0;

    // Undoes every change in the change log not yet undone, last first (what `reset` does). Idempotent:
    // after a crash during an undo, running it again finishes it.
    virtual Result<UndoReport> undo_all() = 0;
};

} // namespace installer::system
