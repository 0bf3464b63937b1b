// SPDX-License-Identifier: Apache-2.0
// HostSystem: reads and changes of files, folders and links under the root, and their undo.
// (Commands and services: host_services.cpp.)
#include <installer/system/host_system.hpp>
#include <installer/system/host_files.hpp>

#include <common/io/string_stream.hpp>
#include <common/io/verifying_stream.hpp>
#include <common/util/failpoint.hpp>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

namespace installer::system {

using common::Errc;
using common::fail;
using common::io::File;

namespace detail {

std::string temp_name(const std::string& name)
{
    static constexpr char k_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    unsigned char random[6];
    if (::getrandom(random, sizeof(random), 0) != sizeof(random))
        for (unsigned char& r : random) r = static_cast<unsigned char>(::rand());
    std::string out = "." + name + ".tmp-";
    for (unsigned char r : random) out += k_chars[r % (sizeof(k_chars) - 1)];
    return out;
}

void remove_stale_temps(const Folder& dir, const std::string& name)
{
    int fd = ::openat(dir.fd.fd(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    DIR* d = ::fdopendir(fd);
    if (!d) {
        ::close(fd);
        return;
    }
    std::string prefix = "." + name + ".tmp-";
    std::vector<std::string> stale;
    while (dirent* e = ::readdir(d)) {
        std::string_view n(e->d_name);
        if (n.size() == prefix.size() + 6 && n.starts_with(prefix)) stale.emplace_back(n);
    }
    ::closedir(d);
    for (const std::string& s : stale) ::unlinkat(dir.fd.fd(), s.c_str(), 0);
}

Result<void> sync_folder(const Folder& dir)
{
    if (::fsync(dir.fd.fd()) != 0) return common::fail_errno("fsync " + dir.node_path, errno);
    return {};
}

Result<FileInfo> info_of(int dir, const std::string& name, const std::string& what)
{
    struct stat st {};
    if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) return FileInfo{};
        return common::fail_errno("stat " + what, errno);
    }
    FileInfo info;
    info.kind = S_ISREG(st.st_mode)   ? FileKind::regular
                : S_ISDIR(st.st_mode) ? FileKind::directory
                : S_ISLNK(st.st_mode) ? FileKind::symlink
                                      : FileKind::other;
    info.mode = st.st_mode & 07777;
    info.size = static_cast<std::uint64_t>(st.st_size);
    info.uid = st.st_uid;
    info.gid = st.st_gid;
    info.dev = st.st_dev;
    info.ino = st.st_ino;
    return info;
}

} // namespace detail

using namespace detail;

namespace {

// Copies a file or link (with mode, owner and times) from one folder to another under a temp name, then
// renames it into place: the fallback when a hard link or rename cannot cross filesystems.
Result<void> copy_entry(int from_dir, const std::string& from, const Folder& to, const std::string& to_name)
{
    struct stat st {};
    if (::fstatat(from_dir, from.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return common::fail_errno("stat " + from, errno);
    std::string temp = temp_name(to_name);
    if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        ssize_t n = ::readlinkat(from_dir, from.c_str(), target, sizeof(target) - 1);
        if (n < 0) return common::fail_errno("read link " + from, errno);
        target[n] = '\0';
        if (::symlinkat(target, to.fd.fd(), temp.c_str()) != 0) return common::fail_errno("create link in " + to.node_path, errno);
    } else if (S_ISREG(st.st_mode)) {
        int in_fd = ::openat(from_dir, from.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (in_fd < 0) return common::fail_errno("open " + from, errno);
        File in(in_fd, from);
        int out_fd = ::openat(to.fd.fd(), temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (out_fd < 0) return common::fail_errno("create a file in " + to.node_path, errno);
        File out(out_fd, to.node_path + "/" + temp);
        struct timespec times[2] = {st.st_atim, st.st_mtim};
        auto copied = common::io::copy(in, out);
        bool ok = copied && ::fchown(out.fd(), st.st_uid, st.st_gid) == 0 && ::fchmod(out.fd(), st.st_mode & 07777) == 0 &&
                  ::futimens(out.fd(), times) == 0 && out.sync();
        if (!ok) {
            int err = errno;
            ::unlinkat(to.fd.fd(), temp.c_str(), 0);
            return copied ? common::fail_errno("copy " + from + " to " + to.node_path, err) : fail(copied.error());
        }
    } else {
        return fail(Errc::failed_precondition, "{} is neither a file nor a link", from);
    }
    if (::renameat(to.fd.fd(), temp.c_str(), to.fd.fd(), to_name.c_str()) != 0) {
        int err = errno;
        ::unlinkat(to.fd.fd(), temp.c_str(), 0);
        return common::fail_errno("rename into " + to.node_path + "/" + to_name, err);
    }
    return sync_folder(to);
}

} // namespace

Result<ChangeLog*> HostSystem::change_log(std::string_view what)
{
    if (!m_changes) return fail(Errc::failed_precondition, "{}: no change log (a read-only run)", what);
    return m_changes;
}

Result<Parent> HostSystem::parent_for_change(std::string_view path)
{
    auto log = change_log(path);
    if (!log) return fail(log.error());
    return m_root.open_parent(path, Create::yes, [&](const std::string& folder) -> Result<void> {
        auto recorded = (*log)->record({0, m_phase, ChangeOp::mkdir, folder, false});
        if (!recorded) return fail(recorded.error());
        return {};
    });
}

Result<void> HostSystem::journal_replacement(const Parent& p, ChangeOp op)
{
    ChangeLog& log = *m_changes;
    std::string path = p.node_path();
    auto info = info_of(p.dir.fd.fd(), p.name, path);
    if (!info) return fail(info.error());
    if (info->kind == FileKind::missing) {
        auto recorded = log.record({0, m_phase, ChangeOp::create, path, false});
        return recorded ? Result<void>{} : fail(recorded.error());
    }
    if (info->kind == FileKind::directory) return fail(Errc::failed_precondition, "{} is a folder, not a file", path);
    if (info->kind == FileKind::other) return fail(Errc::failed_precondition, "{} is neither a file nor a link", path);
    // Keep what is there: a hard link costs nothing and keeps mode, owner and times; another filesystem
    // gets a copy. A backup left by a run killed before it journaled has the same name: replace it.
    std::string backup = ChangeLog::backup_name(log.next_seq());
    int backups = log.backups().fd();
    ::unlinkat(backups, backup.c_str(), 0);
    if (::linkat(p.dir.fd.fd(), p.name.c_str(), backups, backup.c_str(), 0) != 0) {
        if (errno != EXDEV && errno != EPERM && errno != EMLINK) return common::fail_errno("keep a backup of " + path, errno);
        Folder backups_dir{File(::fcntl(backups, F_DUPFD_CLOEXEC, 0), log.backups().path()), log.backups().path()};
        TRY_VOID(copy_entry(p.dir.fd.fd(), p.name, backups_dir, backup));
    }
    if (::fsync(backups) != 0) return common::fail_errno("fsync " + log.backups().path(), errno);
    auto recorded = log.record({0, m_phase, op, path, true});
    return recorded ? Result<void>{} : fail(recorded.error());
}

Result<void> HostSystem::replace_entry(std::string_view path, const Make& make)
{
    auto parent = parent_for_change(path);
    if (!parent) return fail(parent.error());
    remove_stale_temps(parent->dir, parent->name);
    // Journaled before the temp file exists: a kill at any later point leaves only what undo finds
    // (the entry, its backup, a temp file beside it). A change that then fails undoes as a no-op.
    TRY_VOID(journal_replacement(*parent, ChangeOp::replace));
    std::string temp = temp_name(parent->name);
    if (auto made = make(parent->dir, temp); !made) {
        ::unlinkat(parent->dir.fd.fd(), temp.c_str(), 0);
        return fail(made.error());
    }
    common::failpoint("system.temp_written");
    if (::renameat(parent->dir.fd.fd(), temp.c_str(), parent->dir.fd.fd(), parent->name.c_str()) != 0) {
        int err = errno;
        ::unlinkat(parent->dir.fd.fd(), temp.c_str(), 0);
        return common::fail_errno("rename into " + parent->node_path(), err);
    }
    return sync_folder(parent->dir);
}

Result<void> HostSystem::replace_file(std::string_view path, const FileOptions& o, const Fill& fill)
{
    return replace_entry(path, [&](const Folder& dir, const std::string& temp) -> Result<void> {
        int fd = ::openat(dir.fd.fd(), temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) return common::fail_errno("create a file in " + dir.node_path, errno);
        File file(fd, m_root.host_path(dir.node_path + "/" + temp).string());
        TRY_VOID(fill(file));
        if (o.uid || o.gid) {
            if (::fchown(fd, o.uid.value_or(static_cast<uid_t>(-1)), o.gid.value_or(static_cast<gid_t>(-1))) != 0)
                return common::fail_errno("chown " + file.path(), errno);
        }
        // After chown, which clears set-id bits.
        if (::fchmod(fd, o.mode) != 0) return common::fail_errno("chmod " + file.path(), errno);
        TRY_VOID(file.sync());
        return file.close();
    });
}

Result<FileInfo> HostSystem::stat(std::string_view path)
{
    auto parent = m_root.open_parent(path, Create::no);
    if (!parent) {
        if (parent.error().code == Errc::not_found) return FileInfo{};
        return fail(parent.error());
    }
    return info_of(parent->dir.fd.fd(), parent->name, parent->node_path());
}

Result<std::string> HostSystem::read_file(std::string_view path, std::uint64_t max_bytes)
{
    auto file = m_root.open_file(path);
    if (!file) return fail(file.error());
    common::io::StringSink text(max_bytes, fmt::format("read {}", path));
    TRY_VOID(common::io::copy(*file, text));
    return text.take();
}

Result<std::string> HostSystem::lock_holder(std::string_view path)
{
    auto file = m_root.open_file(path);
    if (!file) return file.error().code == common::Errc::not_found ? Result<std::string>{} : fail(file.error());
    struct flock query{};
    query.l_type = F_WRLCK;
    query.l_whence = SEEK_SET;
    if (::fcntl(file->fd(), F_GETLK, &query) != 0) return common::fail_errno(fmt::format("query the lock on {}", path), errno);
    if (query.l_type == F_UNLCK) return std::string();
    // The holder's pid is in our pid namespace; its name from the host's /proc (a chroot may have none).
    std::string name = "unknown";
    if (std::ifstream comm(fmt::format("/proc/{}/comm", query.l_pid)); comm) std::getline(comm, name);
    return fmt::format("{} (pid {})", name, query.l_pid);
}

Result<common::digest::FileDigest> HostSystem::hash_file(std::string_view path)
{
    auto file = m_root.open_file(path);
    if (!file) return fail(file.error());
    return common::io::hash_all(*file);
}

Result<void> HostSystem::write_file(std::string_view path, std::string_view content, const FileOptions& options)
{
    return replace_file(path, options, [&](File& f) { return f.write(std::as_bytes(std::span(content.data(), content.size()))); });
}

Result<void> HostSystem::write_from(std::string_view path, common::io::Source& data, const FileOptions& options)
{
    return replace_file(path, options, [&](File& f) -> Result<void> {
        auto copied = common::io::copy(data, f);
        if (!copied) return fail(copied.error());
        return {};
    });
}

Result<void> HostSystem::install_blob(std::string_view path, const common::store::BlobStore& store, const common::store::BlobRef& blob,
                                      const FileOptions& options)
{
    return replace_file(path, options, [&](File& f) { return store.copy_out(blob, f); });
}

Result<void> HostSystem::make_dir(std::string_view path, unsigned mode)
{
    auto log = change_log(path);
    if (!log) return fail(log.error());
    std::string created;
    auto dir = m_root.open_dir(path, Create::yes, [&](const std::string& folder) -> Result<void> {
        auto recorded = (*log)->record({0, m_phase, ChangeOp::mkdir, folder, false});
        if (!recorded) return fail(recorded.error());
        created = folder;
        return {};
    });
    if (!dir) return fail(dir.error());
    // A folder that was there keeps its mode; the one made here gets the mode asked for.
    if (created == dir->node_path && ::fchmod(dir->fd.fd(), mode) != 0) return common::fail_errno("chmod " + created, errno);
    return {};
}

Result<void> HostSystem::symlink(std::string_view target, std::string_view path)
{
    std::string t(target);
    return replace_entry(path, [&](const Folder& dir, const std::string& temp) -> Result<void> {
        if (::symlinkat(t.c_str(), dir.fd.fd(), temp.c_str()) != 0) return common::fail_errno("create link in " + dir.node_path, errno);
        return {};
    });
}

Result<void> HostSystem::hard_link(std::string_view existing, std::string_view path)
{
    auto from = m_root.open_parent(existing, Create::no);
    if (!from) return fail(from.error());
    return replace_entry(path, [&](const Folder& dir, const std::string& temp) -> Result<void> {
        if (::linkat(from->dir.fd.fd(), from->name.c_str(), dir.fd.fd(), temp.c_str(), 0) != 0)
            return common::fail_errno(fmt::format("link {} into {}", from->node_path(), dir.node_path), errno);
        return {};
    });
}

Result<void> HostSystem::remove(std::string_view path)
{
    auto log = change_log(path);
    if (!log) return fail(log.error());
    auto parent = m_root.open_parent(path, Create::no);
    if (!parent) return parent.error().code == Errc::not_found ? Result<void>{} : fail(parent.error());
    auto info = info_of(parent->dir.fd.fd(), parent->name, parent->node_path());
    if (!info) return fail(info.error());
    if (info->kind == FileKind::missing) return {};
    TRY_VOID(journal_replacement(*parent, ChangeOp::remove)); // keeps the backup
    if (::unlinkat(parent->dir.fd.fd(), parent->name.c_str(), 0) != 0) return common::fail_errno("remove " + parent->node_path(), errno);
    return sync_folder(parent->dir);
}

Result<UndoReport> HostSystem::undo_all()
{
    auto log = change_log("undo");
    if (!log) return fail(log.error());
    std::vector<Change> pending = (*log)->pending();
    UndoReport report;
    for (auto it = pending.rbegin(); it != pending.rend(); ++it) {
        if (auto ok = undo(*it, report); !ok)
            return fail(ok.error().wrap(fmt::format("undo change {} ({} {} of phase {})", it->seq, to_string(it->op), it->path, it->phase)));
        TRY_VOID((*log)->mark_undone(it->seq));
        ++report.undone;
        common::failpoint("system.undone");
    }
    return report;
}

Result<void> HostSystem::undo(const Change& c, UndoReport& report)
{
    if (c.op == ChangeOp::start) return stop_service(c.path);
    if (c.op == ChangeOp::tree) return remove_tree(c.path);
    if (c.op == ChangeOp::packages) return purge_packages(c, report);
    if (c.op == ChangeOp::uninstall) return run_uninstall(c, report);
    auto parent = m_root.open_parent(c.path, Create::no);
    if (!parent) {
        // The folder is gone, and with it what was created in it; a backup has nowhere to go back to.
        if (parent.error().code != Errc::not_found) return fail(parent.error());
        if (c.backup) report.kept.push_back(fmt::format("{}: its folder is gone; the previous version stays in the backups", c.path));
        return {};
    }
    int dir = parent->dir.fd.fd();
    switch (c.op) {
    case ChangeOp::create:
        remove_stale_temps(parent->dir, parent->name);
        if (::unlinkat(dir, parent->name.c_str(), 0) != 0 && errno != ENOENT) return common::fail_errno("remove " + c.path, errno);
        return sync_folder(parent->dir);
    case ChangeOp::mkdir:
        if (::unlinkat(dir, parent->name.c_str(), AT_REMOVEDIR) != 0) {
            if (errno == ENOTEMPTY || errno == EEXIST) report.kept.push_back(fmt::format("{}: folder not empty, kept", c.path));
            else if (errno != ENOENT) return common::fail_errno("remove folder " + c.path, errno);
        }
        return sync_folder(parent->dir);
    case ChangeOp::replace:
    case ChangeOp::remove:
        remove_stale_temps(parent->dir, parent->name);
        return restore_backup(c);
    case ChangeOp::start:
    case ChangeOp::tree:
    case ChangeOp::packages:
    case ChangeOp::uninstall: break;
    }
    return {};
}

Result<void> HostSystem::journal_packages(const std::vector<std::string>& names)
{
    auto log = change_log("install packages");
    if (!log) return fail(log.error());
    if (names.empty()) return {};
    for (const std::string& n : names)
        if (n.empty() || n.find_first_of(" \t\n") != std::string::npos) return fail(Errc::invalid_argument, "bad package name '{}'", n);
    auto recorded = (*log)->record({0, m_phase, ChangeOp::packages, fmt::format("{}", fmt::join(names, " ")), false});
    return recorded ? Result<void>{} : fail(recorded.error());
}

Result<void> HostSystem::journal_uninstall(std::string_view script)
{
    auto log = change_log("journal an uninstall script");
    if (!log) return fail(log.error());
    if (!script.starts_with('/')) return fail(Errc::invalid_argument, "uninstall script '{}' is not an absolute path", script);
    auto recorded = (*log)->record({0, m_phase, ChangeOp::uninstall, std::string(script), false});
    return recorded ? Result<void>{} : fail(recorded.error());
}

Result<void> HostSystem::run_uninstall(const Change& c, UndoReport& report)
{
    auto info = stat(c.path);
    if (!info) return fail(info.error());
    if (info->kind != FileKind::regular) return {}; // never written, or already run (it removes itself)
    auto r = run({{"sh", c.path}, {}, std::chrono::seconds(600), InRoot::yes});
    if (!r) return fail(r.error());
    if (r->exit_code != 0) {
        report.kept.push_back(fmt::format("{} failed (exit {}): {}", c.path, r->exit_code, r->tail(1000)));
    }
    return {};
}

Result<void> HostSystem::purge_packages(const Change& c, UndoReport& report)
{
    // No dpkg in the root: nothing can have been installed.
    auto dpkg = stat("/usr/bin/dpkg");
    if (!dpkg) return fail(dpkg.error());
    if (dpkg->kind == FileKind::missing) return {};
    std::vector<std::string> names;
    for (std::size_t pos = 0; pos < c.path.size();) {
        std::size_t end = std::min(c.path.find(' ', pos), c.path.size());
        if (end > pos) names.push_back(c.path.substr(pos, end - pos));
        pos = end + 1;
    }
    // Those dpkg knows in any state but "not installed" (installed, half-installed, config files left).
    std::vector<std::string> query{"dpkg-query", "--show", "--showformat=${Package}\t${db:Status-Abbrev}\n"};
    query.insert(query.end(), names.begin(), names.end());
    auto known = run({query, {}, std::chrono::seconds(120), InRoot::yes});
    if (!known) return fail(known.error());
    std::vector<std::string> purge{"dpkg", "--purge"};
    std::istringstream in(known->output);
    for (std::string line; std::getline(in, line);) {
        std::size_t tab = line.find('\t');
        if (tab == std::string::npos || line.size() < tab + 3 || line[tab + 2] == 'n') continue;
        purge.push_back(line.substr(0, tab));
    }
    if (purge.size() == 2) return {};
    auto r = run({purge, {{"DEBIAN_FRONTEND", "noninteractive"}}, std::chrono::seconds(1800), InRoot::yes});
    if (!r) return fail(r.error());
    if (r->exit_code != 0) {
        // Another package the operator installed since may depend on them: dpkg refuses, and says which.
        report.kept.push_back(fmt::format("packages {}: dpkg --purge refused (exit {}): {}", fmt::join(purge.begin() + 2, purge.end(), " "),
                                          r->exit_code, r->tail(1000)));
    }
    return {};
}

Result<void> HostSystem::restore_backup(const Change& c)
{
    if (!c.backup) return {};
    auto parent = m_root.open_parent(c.path, Create::no);
    if (!parent) return fail(parent.error());
    int backups = m_changes->backups().fd();
    std::string name = ChangeLog::backup_name(c.seq);
    struct stat st {};
    // No backup: the change was journaled but a crash came before the backup was taken or the entry
    // replaced, or this undo already put it back.
    if (::fstatat(backups, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return {};
    if (::renameat(backups, name.c_str(), parent->dir.fd.fd(), parent->name.c_str()) != 0) {
        if (errno != EXDEV) return common::fail_errno("restore " + c.path, errno);
        TRY_VOID(copy_entry(backups, name, parent->dir, parent->name));
    }
    // rename() of two links to one file changes nothing: drop the backup's name then.
    ::unlinkat(backups, name.c_str(), 0);
    return sync_folder(parent->dir);
}

} // namespace installer::system
