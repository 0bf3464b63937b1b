// SPDX-License-Identifier: Apache-2.0
#include <installer/engine/logger.hpp>

#include <common/io/file.hpp>

#include <cerrno>
#include <ctime>

namespace installer::engine {

Logger::~Logger()
{
    if (m_file) std::fclose(m_file);
}

common::Result<void> Logger::attach(const std::filesystem::path& path)
{
    TRY_VOID(common::io::make_dirs(path.parent_path()));
    std::FILE* f = std::fopen(path.c_str(), "ae");
    if (!f) return common::fail_errno("open log " + path.string(), errno);
    if (m_file) std::fclose(m_file);
    m_file = f;
    m_path = path;
    return {};
}

void Logger::detail(const std::string& message)
{
    if (!m_file) return;
    char stamp[32];
    std::time_t now = std::time(nullptr);
    std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
    fmt::print(m_file, "{} {}\n", stamp, message);
    std::fflush(m_file);
}

void Logger::emit(std::string_view level, const std::string& message, std::FILE* screen)
{
    fmt::print(screen, "{}{}\n", level == "error" ? "error: " : "", message);
    std::fflush(screen);
    detail(fmt::format("{} {}", level, message));
}

} // namespace installer::engine
