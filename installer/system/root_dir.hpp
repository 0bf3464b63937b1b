// SPDX-License-Identifier: Apache-2.0
// The target root (`--root DIR`, "/" by default) and the one way the installer reaches a path of the node:
// a node path ("/usr/local/bin/k3s") is resolved inside the root as if the root were "/", so a symlink in
// the root (absolute, or with more ".." than it is deep) never leads out of it. openat2(RESOLVE_IN_ROOT)
// does this where the kernel has it (Linux 5.6+); elsewhere, and to create missing folders, a checked
// walk opens one component at a time without following links and resolves each link itself.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include <common/io/file.hpp>

namespace installer::system {

using common::Result;

enum class Create { no, yes };
enum class Resolution { automatic, walk }; // automatic: openat2 when the kernel has it; walk: always the checked walk

// An open folder of the node: its descriptor and its node path after resolution ("/tmp/x" for
// "/usr/local/bin" when that is a link to ../../../tmp/x).
struct Folder {
    common::io::File fd;
    std::string node_path;
};

// The folder a node path lives in, and its last component (a plain name, never followed).
struct Parent {
    Folder dir;
    std::string name;
    std::string node_path() const { return dir.node_path == "/" ? "/" + name : dir.node_path + "/" + name; }
};

class RootDir {
public:
    // Opens the root folder; it must exist. Called before a folder is created, with its node path.
    using BeforeCreate = std::function<Result<void>(const std::string& node_path)>;

    static Result<RootDir> open(const std::filesystem::path& root, Resolution resolution = Resolution::automatic);

    const std::filesystem::path& path() const { return m_path; }
    // The root folder's descriptor (for fchdir + chroot).
    int fd() const { return m_fd.fd(); }
    // True when the root is the host's "/" (commands need no chroot, systemd may manage services).
    bool is_host() const { return m_is_host; }
    // The host path of a resolved node path (for programs and libraries that take paths).
    std::filesystem::path host_path(std::string_view resolved_node_path) const;

    // Opens a folder; with Create::yes makes the missing ones (0755), calling before_create first for each.
    // not_found when a component is missing (Create::no); failed_precondition when one is not a folder.
    Result<Folder> open_dir(std::string_view node_path, Create create, const BeforeCreate& before_create = {}) const;
    // The folder of node_path (opened as open_dir does) and its last component.
    Result<Parent> open_parent(std::string_view node_path, Create create, const BeforeCreate& before_create = {}) const;
    // Opens a file for reading, following links inside the root; not_found when it does not exist.
    Result<common::io::File> open_file(std::string_view node_path) const;
    // The host path of a folder resolved in the root (created if asked): where the store, journal and
    // log of a --root install live.
    Result<std::filesystem::path> host_dir(std::string_view node_path, Create create) const;

    // Whether this object uses openat2 (false after the kernel refused it, or with Resolution::walk).
    bool uses_openat2() const { return m_openat2; }

private:
    RootDir(common::io::File fd, std::filesystem::path path, std::filesystem::path real, bool openat2)
        : m_fd(std::move(fd)), m_path(std::move(path)), m_real(std::move(real)), m_is_host(m_real == "/"), m_openat2(openat2)
    {
    }
    Result<Folder> walk(std::string_view node_path, Create create, const BeforeCreate& before_create) const;
    // openat2(RESOLVE_IN_ROOT): the descriptor, or -errno (ENOSYS/EPERM: the caller walks instead).
    int open_in_root(std::string_view node_path, int flags) const;
    Result<std::string> node_path_of(int fd) const;

    common::io::File m_fd;
    std::filesystem::path m_path;
    std::filesystem::path m_real; // realpath of the root, to map /proc/self/fd links back to node paths
    bool m_is_host = false;
    mutable bool m_openat2 = true;
};

// Checks a node path: absolute, no NUL. invalid_argument otherwise.
Result<void> check_node_path(std::string_view node_path);

} // namespace installer::system
