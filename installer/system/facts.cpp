// SPDX-License-Identifier: Apache-2.0
#include <installer/system/facts.hpp>

#include <common/io/file.hpp>

#include <cerrno>
#include <sched.h>
#include <sstream>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

namespace installer::system {

namespace fs = std::filesystem;
using common::fail;

namespace {

std::string os_release_value(const std::string& text, std::string_view key)
{
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (!line.starts_with(key) || line.size() <= key.size() || line[key.size()] != '=') continue;
        std::string v = line.substr(key.size() + 1);
        if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) v = v.substr(1, v.size() - 2);
        return v;
    }
    return {};
}

fs::path existing_ancestor(fs::path p)
{
    std::error_code ec;
    while (!p.empty() && !fs::exists(p, ec) && p != p.root_path()) p = p.parent_path();
    return p.empty() ? fs::path(".") : p;
}

} // namespace

common::Result<std::uint64_t> free_bytes(const fs::path& path)
{
    fs::path at = existing_ancestor(path);
    struct statvfs st {};
    if (::statvfs(at.c_str(), &st) != 0) return common::fail_errno("statvfs " + at.string(), errno);
    return static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
}

common::Result<Facts> gather_facts(System& sys, const fs::path& data_dir)
{
    Facts f;
    f.euid = ::geteuid();
    auto text = sys.read_file("/etc/os-release", 1 << 20);
    if (!text && text.error().code == common::Errc::not_found) text = sys.read_file("/usr/lib/os-release", 1 << 20);
    if (text) {
        f.os_id = os_release_value(*text, "ID");
        f.os_version_id = os_release_value(*text, "VERSION_ID");
    } else if (text.error().code != common::Errc::not_found) {
        return common::fail(text.error());
    }
    struct utsname u {};
    ::uname(&u);
    std::string machine = u.machine;
    f.arch = machine == "x86_64" ? "amd64" : machine == "aarch64" ? "arm64" : machine;
    cpu_set_t set;
    f.cpus = ::sched_getaffinity(0, sizeof(set), &set) == 0 ? static_cast<unsigned>(CPU_COUNT(&set))
                                                             : static_cast<unsigned>(::sysconf(_SC_NPROCESSORS_ONLN));
    if (auto meminfo = common::io::read_file("/proc/meminfo", 1 << 20)) {
        std::istringstream in(*meminfo);
        std::string key;
        std::uint64_t kb = 0;
        while (in >> key >> kb) {
            if (key == "MemTotal:") {
                f.memory_bytes = kb * 1024;
                break;
            }
            in.ignore(1 << 10, '\n');
        }
    }
    fs::path at = existing_ancestor(data_dir);
    struct statvfs st {};
    if (::statvfs(at.c_str(), &st) != 0) return common::fail_errno("statvfs " + at.string(), errno);
    f.data_dir_free_bytes = static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
    f.data_dir_total_bytes = static_cast<std::uint64_t>(st.f_blocks) * st.f_frsize;
    return f;
}

} // namespace installer::system
