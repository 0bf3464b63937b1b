// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>

#include <common/util/error.hpp>

namespace installer::system {

// One installer at a time per node: an exclusive flock on the lock file, held for the object's life
// (the kernel drops it if the process dies, so a killed installer never leaves a stale lock).
class NodeLock {
public:
    // busy, naming the holder's pid, when another installer holds it.
    static common::Result<NodeLock> acquire(const std::filesystem::path& path);
    ~NodeLock();
    NodeLock(NodeLock&& other) noexcept;
    NodeLock& operator=(NodeLock&&) = delete;

private:
    explicit NodeLock(int fd) : m_fd(fd) {}
    int m_fd = -1;
};

} // namespace installer::system
