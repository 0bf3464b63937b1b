// SPDX-License-Identifier: Apache-2.0
#include "scratch.hpp"

#include <cstdlib>
#include <fstream>

const std::filesystem::path& Scratch::run_root()
{
    static const std::filesystem::path root = [] {
        std::string templ = (std::filesystem::temp_directory_path() / "pi-unit.XXXXXX").string();
        return std::filesystem::path(::mkdtemp(templ.data()));
    }();
    return root;
}

Scratch::Scratch()
{
    std::string templ = (run_root() / "t.XXXXXX").string();
    m_path = ::mkdtemp(templ.data());
}

std::filesystem::path Scratch::write(const std::string& name, const std::string& content) const
{
    std::filesystem::path p = m_path / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
    return p;
}
