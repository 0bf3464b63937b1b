// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdio>
#include <filesystem>
#include <string>

#include <fmt/format.h>

#include <common/util/error.hpp>

namespace installer::engine {

// Messages to the operator (stdout) and, once attach() is called, to the one log file with a timestamp.
class Logger {
public:
    Logger() = default;
    ~Logger();
    Logger(const Logger&) = delete;
    Logger& operator=(const Logger&) = delete;

    // Appends to path from now on (creating its folder).
    common::Result<void> attach(const std::filesystem::path& path);
    const std::filesystem::path& path() const { return m_path; }

    template <class... Args>
    void info(fmt::format_string<Args...> f, Args&&... args)
    {
        emit("info", fmt::format(f, std::forward<Args>(args)...), stdout);
    }
    template <class... Args>
    void error(fmt::format_string<Args...> f, Args&&... args)
    {
        emit("error", fmt::format(f, std::forward<Args>(args)...), stderr);
    }
    // To the log file only.
    void detail(const std::string& message);

private:
    void emit(std::string_view level, const std::string& message, std::FILE* screen);
    std::FILE* m_file = nullptr;
    std::filesystem::path m_path;
};

} // namespace installer::engine
