// SPDX-License-Identifier: Apache-2.0
#include <installer/system/jsonl_file.hpp>

#include <common/io/file.hpp>

#include <cerrno>
#include <fcntl.h>
#include <sstream>
#include <unistd.h>
#include <utility>

namespace installer::system {

common::Result<JsonlFile> JsonlFile::open(const std::filesystem::path& path, std::vector<nlohmann::json>& lines)
{
    bool torn = false;
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) {
        auto text = common::io::read_file(path, 64u << 20);
        if (!text) return common::fail(text.error());
        torn = !text->empty() && text->back() != '\n';
        std::istringstream in(*text);
        std::string line;
        while (std::getline(in, line)) {
            try {
                lines.push_back(nlohmann::json::parse(line));
            } catch (const std::exception&) {
                // A torn line from a crash mid-append: the event it held did not complete.
            }
        }
    }
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return common::fail_errno("open " + path.string(), errno);
    if (torn && ::write(fd, "\n", 1) != 1) {
        int err = errno;
        ::close(fd);
        return common::fail_errno("repair " + path.string(), err);
    }
    return JsonlFile(fd, path);
}

JsonlFile::~JsonlFile()
{
    if (m_fd >= 0) ::close(m_fd);
}

JsonlFile::JsonlFile(JsonlFile&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)), m_path(std::move(other.m_path)) {}

common::Result<void> JsonlFile::append(const nlohmann::json& j)
{
    std::string line = j.dump() + "\n";
    if (::write(m_fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
        return common::fail_errno("append to " + m_path.string(), errno);
    if (::fdatasync(m_fd) != 0) return common::fail_errno("fsync " + m_path.string(), errno);
    return {};
}

} // namespace installer::system
