// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>
#include <string>

// A scratch folder per test, inside one folder per run (removed if the run passes, kept and printed if not).
class Scratch {
public:
    Scratch();
    const std::filesystem::path& path() const { return m_path; }
    std::filesystem::path operator/(const std::string& name) const { return m_path / name; }
    // Writes a file (creating folders) and returns its path.
    std::filesystem::path write(const std::string& name, const std::string& content) const;
    static const std::filesystem::path& run_root();

private:
    std::filesystem::path m_path;
};
