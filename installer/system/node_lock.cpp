// SPDX-License-Identifier: Apache-2.0
#include <installer/system/node_lock.hpp>

#include <cerrno>
#include <fcntl.h>
#include <string>
#include <sys/file.h>
#include <unistd.h>
#include <utility>

namespace installer::system {

common::Result<NodeLock> NodeLock::acquire(const std::filesystem::path& path)
{
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return common::fail_errno("open lock " + path.string(), errno);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        char buf[32] = {0};
        ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
        ::close(fd);
        if (err == EWOULDBLOCK) {
            std::string pid = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "unknown";
            while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
            return common::fail(common::Errc::busy,
                                "another installer (pid {}) is running on this node (lock {}); wait for it to finish",
                                pid, path.string());
        }
        return common::fail_errno("lock " + path.string(), err);
    }
    std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
        int err = errno;
        ::close(fd);
        return common::fail_errno("write lock " + path.string(), err);
    }
    return NodeLock(fd);
}

NodeLock::~NodeLock()
{
    if (m_fd >= 0) ::close(m_fd);
}

NodeLock::NodeLock(NodeLock&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}

} // namespace installer::system
