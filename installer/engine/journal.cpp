// SPDX-License-Identifier: Apache-2.0
#include <installer/engine/journal.hpp>

#include <common/io/file.hpp>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <ctime>
#include <fcntl.h>
#include <sstream>
#include <unistd.h>
#include <utility>

namespace installer::engine {

namespace {
std::string key(const std::string& bundle, const std::string& role, const std::string& phase)
{
    return bundle + "|" + role + "|" + phase;
}
} // namespace

common::Result<Journal> Journal::open(const std::filesystem::path& path)
{
    std::map<std::string, std::string> last;
    bool torn = false;
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) {
        auto text = common::io::read_file(path, 64u << 20);
        if (!text) return common::fail(text.error());
        // A crash mid-append leaves a last line without its newline: end it so the next record stands alone.
        torn = !text->empty() && text->back() != '\n';
        std::istringstream in(*text);
        std::string line;
        while (std::getline(in, line)) {
            try {
                auto j = nlohmann::json::parse(line);
                last[key(j.at("bundle"), j.at("role"), j.at("phase"))] = j.at("event");
            } catch (const std::exception&) {
                // A torn line from a crash mid-append: the event it held did not complete.
            }
        }
    }
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return common::fail_errno("open journal " + path.string(), errno);
    if (torn && ::write(fd, "\n", 1) != 1) {
        int err = errno;
        ::close(fd);
        return common::fail_errno("repair journal " + path.string(), err);
    }
    Journal j(fd, path);
    j.m_last = std::move(last);
    return j;
}

Journal::~Journal()
{
    if (m_fd >= 0) ::close(m_fd);
}

Journal::Journal(Journal&& other) noexcept
    : m_fd(std::exchange(other.m_fd, -1)), m_path(std::move(other.m_path)), m_last(std::move(other.m_last))
{
}

common::Result<void> Journal::record(const std::string& bundle, const std::string& role, const std::string& phase,
                                     std::string_view event)
{
    nlohmann::json j{{"bundle", bundle}, {"role", role}, {"phase", phase}, {"event", event}, {"time", std::time(nullptr)}};
    std::string line = j.dump() + "\n";
    if (::write(m_fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
        return common::fail_errno("append to journal " + m_path.string(), errno);
    if (::fdatasync(m_fd) != 0) return common::fail_errno("fsync journal " + m_path.string(), errno);
    m_last[key(bundle, role, phase)] = std::string(event);
    return {};
}

bool Journal::done(const std::string& bundle, const std::string& role, const std::string& phase) const
{
    auto it = m_last.find(key(bundle, role, phase));
    return it != m_last.end() && it->second == "done";
}

bool Journal::interrupted(const std::string& bundle, const std::string& role, std::string* phase) const
{
    std::string prefix = bundle + "|" + role + "|";
    for (const auto& [k, event] : m_last) {
        if (k.starts_with(prefix) && event == "start") {
            if (phase) *phase = k.substr(prefix.size());
            return true;
        }
    }
    return false;
}

} // namespace installer::engine
