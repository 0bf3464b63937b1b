// SPDX-License-Identifier: Apache-2.0
// An append-only file of JSON lines, fsynced per line: the journal and the change log. A torn last line
// (power loss mid-append) is dropped when read and ended, so the next line stands alone.
#pragma once

#include <filesystem>
#include <vector>

#include <nlohmann/json.hpp>

#include <common/util/error.hpp>

namespace installer::system {

class JsonlFile {
public:
    // Opens (creating) path and returns it with every complete line already in it, parsed.
    static common::Result<JsonlFile> open(const std::filesystem::path& path, std::vector<nlohmann::json>& lines);
    ~JsonlFile();
    JsonlFile(JsonlFile&& other) noexcept;
    JsonlFile& operator=(JsonlFile&&) = delete;

    // Appends one line and fsyncs before returning.
    common::Result<void> append(const nlohmann::json& line);
    const std::filesystem::path& path() const { return m_path; }

private:
    JsonlFile(int fd, std::filesystem::path path) : m_fd(fd), m_path(std::move(path)) {}
    int m_fd = -1;
    std::filesystem::path m_path;
};

} // namespace installer::system
