// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include <installer/system/system.hpp>

namespace installer::system {

// What preflight needs to know about the node. Gathered from the host (and the target root's os-release).
struct Facts {
    unsigned euid = 0;
    std::string os_id;         // os-release ID (empty when the root has no os-release)
    std::string os_version_id; // os-release VERSION_ID
    std::string arch;          // dpkg name: amd64, arm64
    unsigned cpus = 0;
    std::uint64_t memory_bytes = 0;
    std::uint64_t data_dir_free_bytes = 0;  // free space where the state dir lives
    std::uint64_t data_dir_total_bytes = 0;
};

// Reads /proc, uname, statvfs of data_dir (a host path) and the target root's os-release through the
// seam (/etc/os-release, else /usr/lib/os-release, as os-release(5) says): never the host's when
// --root is given, so a root without one fails the os check instead of passing for the host.
common::Result<Facts> gather_facts(System& sys, const std::filesystem::path& data_dir);

// Free bytes on the filesystem holding `path` (or its nearest existing ancestor).
common::Result<std::uint64_t> free_bytes(const std::filesystem::path& path);

} // namespace installer::system
