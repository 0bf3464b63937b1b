// SPDX-License-Identifier: Apache-2.0
#include "tree.hpp"

#include <fmt/format.h>

#include <fstream>
#include <set>
#include <sstream>
#include <sys/stat.h>

std::string tree_snapshot(const std::filesystem::path& dir)
{
    std::set<std::string> lines;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
        struct stat st {};
        ::lstat(e.path().c_str(), &st);
        std::string what;
        if (S_ISREG(st.st_mode)) {
            std::ifstream in(e.path(), std::ios::binary);
            std::ostringstream body;
            body << in.rdbuf();
            what = "file " + body.str();
        } else if (S_ISLNK(st.st_mode)) {
            what = "link -> " + std::filesystem::read_symlink(e.path()).string();
        } else if (S_ISDIR(st.st_mode)) {
            what = "dir";
        } else {
            what = "other";
        }
        lines.insert(fmt::format("{} {:04o} {}:{} {}", std::filesystem::relative(e.path(), dir).string(), st.st_mode & 07777,
                                 st.st_uid, st.st_gid, what));
    }
    std::string out;
    for (const std::string& l : lines) out += l + "\n";
    return out;
}
