// SPDX-License-Identifier: Apache-2.0
// HostSystem: trees the installer owns whole (the registry's storage), seeded by hard links in bulk and
// removed whole by undo.
#include <installer/system/host_files.hpp>
#include <installer/system/host_system.hpp>

#include <cerrno>
#include <dirent.h>
#include <fcntl.h>
#include <map>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace installer::system {

using common::Errc;
using common::fail;
using common::io::File;
using namespace detail;

namespace {

constexpr int k_dir_flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

// The folders of a tree, opened (and made) once each: entries come sorted, so most share a folder.
class TreeFolders {
public:
    TreeFolders(int root, std::string root_path) : m_root(root), m_root_path(std::move(root_path)) {}

    // The folder holding `rel` (its last component is the entry's name).
    Result<int> parent_of(const std::string& rel)
    {
        std::size_t slash = rel.rfind('/');
        if (slash == std::string::npos) return m_root;
        std::string dir = rel.substr(0, slash);
        if (auto it = m_open.find(dir); it != m_open.end()) return it->second.fd();
        auto up = parent_of(dir);
        if (!up) return fail(up.error());
        std::string name = dir.substr(dir.rfind('/') == std::string::npos ? 0 : dir.rfind('/') + 1);
        int fd = ::openat(*up, name.c_str(), k_dir_flags);
        if (fd < 0 && errno == ENOENT) {
            if (::mkdirat(*up, name.c_str(), 0755) != 0 && errno != EEXIST)
                return common::fail_errno(fmt::format("create folder {}/{}", m_root_path, dir), errno);
            fd = ::openat(*up, name.c_str(), k_dir_flags);
        }
        if (fd < 0) return common::fail_errno(fmt::format("open folder {}/{} (a link inside the tree is refused)", m_root_path, dir), errno);
        return m_open.emplace(dir, File(fd, dir)).first->second.fd();
    }

private:
    int m_root;
    std::string m_root_path;
    std::map<std::string, File> m_open;
};

Result<void> check_entry(const TreeEntry& e)
{
    if (e.path.empty() || e.path.front() == '/' || e.path.back() == '/')
        return fail(Errc::invalid_argument, "tree entry '{}' is not a relative file path", e.path);
    for (std::size_t s = 0; s <= e.path.size();) {
        std::size_t end = std::min(e.path.find('/', s), e.path.size());
        std::string_view part = std::string_view(e.path).substr(s, end - s);
        if (part.empty() || part == "." || part == "..") return fail(Errc::invalid_argument, "tree entry '{}' has an empty, '.' or '..' part", e.path);
        s = end + 1;
    }
    return {};
}

// Whether a small file at dir/name holds exactly `content`.
bool holds(int dir, const std::string& name, const std::string& content)
{
    int fd = ::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return false;
    File f(fd, name);
    std::string got(content.size() + 1, '\0');
    std::size_t n = 0;
    while (n < got.size()) {
        auto r = f.read(std::as_writable_bytes(std::span(got.data() + n, got.size() - n)));
        if (!r || *r == 0) break;
        n += *r;
    }
    return n == content.size() && got.compare(0, n, content) == 0;
}

// Removes dir/name and everything below it without following links.
Result<void> remove_below(int dir, const std::string& name, const std::string& what)
{
    int fd = ::openat(dir, name.c_str(), k_dir_flags);
    if (fd < 0) {
        if (errno == ENOENT) return {};
        if (errno == ENOTDIR || errno == ELOOP) {
            if (::unlinkat(dir, name.c_str(), 0) != 0 && errno != ENOENT) return common::fail_errno("remove " + what, errno);
            return {};
        }
        return common::fail_errno("open " + what, errno);
    }
    DIR* d = ::fdopendir(fd);
    if (!d) {
        ::close(fd);
        return common::fail_errno("read " + what, errno);
    }
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d))
        if (std::string_view(e->d_name) != "." && std::string_view(e->d_name) != "..") names.emplace_back(e->d_name);
    int own = ::dup(::dirfd(d));
    ::closedir(d);
    File self(own, what);
    for (const std::string& n : names) TRY_VOID(remove_below(self.fd(), n, what + "/" + n));
    if (::unlinkat(dir, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) return common::fail_errno("remove folder " + what, errno);
    return {};
}

} // namespace

Result<std::size_t> HostSystem::seed_tree(std::string_view dir, const std::vector<TreeEntry>& entries)
{
    for (const TreeEntry& e : entries) TRY_VOID(check_entry(e));
    auto parent = parent_for_change(dir);
    if (!parent) return fail(parent.error());
    auto info = info_of(parent->dir.fd.fd(), parent->name, parent->node_path());
    if (!info) return fail(info.error());
    if (info->kind == FileKind::missing) {
        // Journaled once, before it exists: undo removes the tree with all it holds.
        auto recorded = m_changes->record({0, m_phase, ChangeOp::tree, parent->node_path(), false});
        if (!recorded) return fail(recorded.error());
        if (::mkdirat(parent->dir.fd.fd(), parent->name.c_str(), 0755) != 0 && errno != EEXIST)
            return common::fail_errno("create folder " + parent->node_path(), errno);
    } else if (info->kind != FileKind::directory) {
        return fail(Errc::failed_precondition, "{} is not a folder", parent->node_path());
    }
    int root_fd = ::openat(parent->dir.fd.fd(), parent->name.c_str(), k_dir_flags);
    if (root_fd < 0) return common::fail_errno("open " + parent->node_path(), errno);
    File root(root_fd, parent->node_path());
    TreeFolders folders(root_fd, parent->node_path());
    std::map<std::string, Parent> sources; // link_from -> its folder, opened once
    std::size_t changed = 0;
    for (const TreeEntry& e : entries) {
        auto dir_fd = folders.parent_of(e.path);
        if (!dir_fd) return fail(dir_fd.error());
        std::string name = e.path.substr(e.path.rfind('/') == std::string::npos ? 0 : e.path.rfind('/') + 1);
        std::string what = parent->node_path() + "/" + e.path;
        struct stat have {};
        bool exists = ::fstatat(*dir_fd, name.c_str(), &have, AT_SYMLINK_NOFOLLOW) == 0;
        std::string temp = temp_name(name);
        if (!e.link_from.empty()) {
            auto src = sources.find(e.link_from);
            if (src == sources.end()) {
                auto opened = m_root.open_parent(e.link_from, Create::no);
                if (!opened) return fail(opened.error().wrap("seed " + what));
                src = sources.emplace(e.link_from, std::move(*opened)).first;
            }
            struct stat want {};
            if (::fstatat(src->second.dir.fd.fd(), src->second.name.c_str(), &want, AT_SYMLINK_NOFOLLOW) != 0)
                return common::fail_errno("seed " + what + ": stat " + e.link_from, errno);
            if (exists && have.st_dev == want.st_dev && have.st_ino == want.st_ino) continue;
            if (::linkat(src->second.dir.fd.fd(), src->second.name.c_str(), *dir_fd, temp.c_str(), 0) != 0)
                return common::fail_errno(fmt::format("link {} to {} (both must be on one filesystem)", e.link_from, what), errno);
        } else {
            if (exists && S_ISREG(have.st_mode) && holds(*dir_fd, name, e.content)) continue;
            int fd = ::openat(*dir_fd, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
            if (fd < 0) return common::fail_errno("create " + what, errno);
            File f(fd, what);
            TRY_VOID(f.write(std::as_bytes(std::span(e.content.data(), e.content.size()))));
            TRY_VOID(f.close());
        }
        if (::renameat(*dir_fd, temp.c_str(), *dir_fd, name.c_str()) != 0) {
            int err = errno;
            ::unlinkat(*dir_fd, temp.c_str(), 0);
            return common::fail_errno("rename into " + what, err);
        }
        ++changed;
    }
    // One flush for the whole tree: a crash before it leaves entries a re-run checks and makes again.
    if (changed > 0 && ::syncfs(root_fd) != 0) return common::fail_errno("sync " + parent->node_path(), errno);
    return changed;
}

Result<void> HostSystem::remove_tree(const std::string& path)
{
    auto parent = m_root.open_parent(path, Create::no);
    if (!parent) return parent.error().code == Errc::not_found ? Result<void>{} : fail(parent.error());
    TRY_VOID(remove_below(parent->dir.fd.fd(), parent->name, path));
    return sync_folder(parent->dir);
}

} // namespace installer::system
