// SPDX-License-Identifier: Apache-2.0
#include <installer/system/root_dir.hpp>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <deque>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <vector>

namespace installer::system {

namespace fs = std::filesystem;
using common::Errc;
using common::fail;
using common::io::File;

namespace {

// Linux allows 40 links in one resolution (path_resolution(7)); so do we.
constexpr int k_max_links = 40;
constexpr int k_dir_flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

std::vector<std::string> components(std::string_view path)
{
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t end = std::min(path.find('/', start), path.size());
        if (end > start) out.emplace_back(path.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

std::string join_node(const std::vector<std::string>& parts)
{
    std::string out;
    for (const std::string& p : parts) out += "/" + p;
    return out.empty() ? "/" : out;
}

Result<std::string> read_link(int dir, const std::string& name, const std::string& what)
{
    std::string target(PATH_MAX, '\0');
    ssize_t n = ::readlinkat(dir, name.c_str(), target.data(), target.size());
    if (n < 0) return common::fail_errno("read link " + what, errno);
    target.resize(static_cast<std::size_t>(n));
    return target;
}

Result<File> dup_fd(const File& f)
{
    int fd = ::fcntl(f.fd(), F_DUPFD_CLOEXEC, 0);
    if (fd < 0) return common::fail_errno("dup " + f.path(), errno);
    return File(fd, f.path());
}

} // namespace

Result<void> check_node_path(std::string_view path)
{
    if (!path.starts_with('/')) return fail(Errc::invalid_argument, "node path '{}' is not absolute", path);
    if (path.find('\0') != std::string_view::npos) return fail(Errc::invalid_argument, "node path has a NUL byte");
    return {};
}

Result<RootDir> RootDir::open(const fs::path& root, Resolution resolution)
{
    int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return common::fail_errno("open root " + root.string(), errno);
    File f(fd, root.string());
    char real[PATH_MAX];
    if (!::realpath(root.c_str(), real)) return common::fail_errno("resolve root " + root.string(), errno);
    return RootDir(std::move(f), root, real, resolution == Resolution::automatic);
}

fs::path RootDir::host_path(std::string_view resolved) const
{
    fs::path rel = fs::path(resolved).relative_path();
    return rel.empty() ? m_path : m_path / rel;
}

int RootDir::open_in_root(std::string_view node_path, int flags) const
{
    open_how how{};
    how.flags = static_cast<std::uint64_t>(flags);
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    std::string rel(node_path.substr(1));
    if (rel.empty()) rel = ".";
    for (;;) {
        long fd = ::syscall(SYS_openat2, m_fd.fd(), rel.c_str(), &how, sizeof(how));
        if (fd >= 0) return static_cast<int>(fd);
        if (errno != EINTR && errno != EAGAIN) return -errno; // EAGAIN: a concurrent rename; the kernel asks to retry
    }
}

Result<std::string> RootDir::node_path_of(int fd) const
{
    std::string link = fmt::format("/proc/self/fd/{}", fd);
    char buf[PATH_MAX];
    ssize_t n = ::readlink(link.c_str(), buf, sizeof(buf) - 1);
    if (n < 0) return common::fail_errno("readlink " + link, errno);
    std::string host(buf, static_cast<std::size_t>(n));
    if (m_is_host) return host;
    std::string prefix = m_real.string();
    if (host == prefix) return std::string("/");
    if (!host.starts_with(prefix + "/"))
        return fail(Errc::failed_precondition, "resolved {} outside the root {}", host, prefix);
    return host.substr(prefix.size());
}

Result<Folder> RootDir::open_dir(std::string_view node_path, Create create, const BeforeCreate& before_create) const
{
    TRY_VOID(check_node_path(node_path));
    if (m_openat2) {
        int fd = open_in_root(node_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
            File f(fd, host_path(node_path).string());
            // The resolved path comes from /proc; without /proc, the walk computes it instead.
            if (auto resolved = node_path_of(fd)) return Folder{std::move(f), *resolved};
        } else {
            int err = -fd;
            if (err == ENOSYS || err == EPERM) m_openat2 = false; // old kernel, or a seccomp filter: walk from now on
            else if (err != ENOENT || create == Create::no) {
                if (err == ENOENT) return fail(Errc::not_found, "{} does not exist in {}", node_path, m_path.string());
                if (err == ENOTDIR) return fail(Errc::failed_precondition, "{}: a component is not a folder (in {})", node_path, m_path.string());
                return common::fail_errno(fmt::format("open {} in {}", node_path, m_path.string()), err);
            }
        }
    }
    return walk(node_path, create, before_create);
}

Result<Folder> RootDir::walk(std::string_view node_path, Create create, const BeforeCreate& before_create) const
{
    std::vector<File> stack; // the open folders below the root, one per resolved component
    std::vector<std::string> parts;
    std::vector<std::string> first = components(node_path);
    std::deque<std::string> todo(first.begin(), first.end());
    int links = 0;
    auto current = [&] { return stack.empty() ? m_fd.fd() : stack.back().fd(); };
    while (!todo.empty()) {
        std::string c = std::move(todo.front());
        todo.pop_front();
        if (c == ".") continue;
        if (c == "..") { // at the root, ".." is the root: it never leads out
            if (!stack.empty()) stack.pop_back(), parts.pop_back();
            continue;
        }
        parts.push_back(c);
        std::string here = join_node(parts);
        int fd = ::openat(current(), c.c_str(), k_dir_flags);
        if (fd < 0 && errno == ENOENT && create == Create::yes) {
            if (before_create) TRY_VOID(before_create(here));
            if (::mkdirat(current(), c.c_str(), 0755) != 0 && errno != EEXIST)
                return common::fail_errno(fmt::format("create folder {} in {}", here, m_path.string()), errno);
            fd = ::openat(current(), c.c_str(), k_dir_flags);
        }
        if (fd < 0) {
            int err = errno;
            struct stat st {};
            bool is_link = (err == ELOOP || err == ENOTDIR) && ::fstatat(current(), c.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                           S_ISLNK(st.st_mode);
            if (!is_link) {
                if (err == ENOENT) return fail(Errc::not_found, "{} does not exist in {}", here, m_path.string());
                if (err == ENOTDIR) return fail(Errc::failed_precondition, "{} is not a folder (in {})", here, m_path.string());
                return common::fail_errno(fmt::format("open {} in {}", here, m_path.string()), err);
            }
            if (++links > k_max_links)
                return fail(Errc::failed_precondition, "{}: more than {} symbolic links (a loop?) in {}", node_path, k_max_links,
                            m_path.string());
            auto target = read_link(current(), c, here);
            if (!target) return fail(target.error());
            parts.pop_back();
            if (target->starts_with('/')) { // absolute: from the root, not the host's "/"
                stack.clear();
                parts.clear();
            }
            std::vector<std::string> more = components(*target);
            todo.insert(todo.begin(), more.begin(), more.end());
            continue;
        }
        stack.emplace_back(fd, host_path(here).string());
    }
    if (stack.empty()) {
        auto root = dup_fd(m_fd);
        if (!root) return fail(root.error());
        return Folder{std::move(*root), "/"};
    }
    return Folder{std::move(stack.back()), join_node(parts)};
}

Result<Parent> RootDir::open_parent(std::string_view node_path, Create create, const BeforeCreate& before_create) const
{
    TRY_VOID(check_node_path(node_path));
    std::vector<std::string> parts = components(node_path);
    if (parts.empty() || parts.back() == "." || parts.back() == "..")
        return fail(Errc::invalid_argument, "node path '{}' does not name a file", node_path);
    std::string name = parts.back();
    parts.pop_back();
    auto dir = open_dir(join_node(parts), create, before_create);
    if (!dir) return fail(dir.error());
    return Parent{std::move(*dir), std::move(name)};
}

Result<File> RootDir::open_file(std::string_view node_path) const
{
    TRY_VOID(check_node_path(node_path));
    if (m_openat2) {
        int fd = open_in_root(node_path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) return File(fd, host_path(node_path).string());
        int err = -fd;
        if (err == ENOSYS || err == EPERM) m_openat2 = false;
        else if (err == ENOENT) return fail(Errc::not_found, "{} does not exist in {}", node_path, m_path.string());
        else return common::fail_errno(fmt::format("open {} in {}", node_path, m_path.string()), err);
    }
    std::string path(node_path);
    for (int links = 0; links <= k_max_links; ++links) {
        auto parent = open_parent(path, Create::no);
        if (!parent) return fail(parent.error());
        int fd = ::openat(parent->dir.fd.fd(), parent->name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0) return File(fd, host_path(parent->node_path()).string());
        if (errno != ELOOP) {
            if (errno == ENOENT) return fail(Errc::not_found, "{} does not exist in {}", node_path, m_path.string());
            return common::fail_errno(fmt::format("open {} in {}", parent->node_path(), m_path.string()), errno);
        }
        auto target = read_link(parent->dir.fd.fd(), parent->name, parent->node_path());
        if (!target) return fail(target.error());
        path = target->starts_with('/') ? *target : parent->dir.node_path + "/" + *target;
    }
    return fail(Errc::failed_precondition, "{}: more than {} symbolic links (a loop?) in {}", node_path, k_max_links, m_path.string());
}

Result<fs::path> RootDir::host_dir(std::string_view node_path, Create create) const
{
    auto dir = open_dir(node_path, create);
    if (!dir) return fail(dir.error());
    return host_path(dir->node_path);
}

} // namespace installer::system
