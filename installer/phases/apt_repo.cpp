// SPDX-License-Identifier: Apache-2.0
#include <installer/phases/apt_repo.hpp>

#include <installer/node/node_paths.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <set>

namespace installer::phases {

using common::Errc;
using common::fail;

std::string apt_target(std::string_view os_id, std::string_view version_id) { return fmt::format("{}-{}", os_id, version_id); }

namespace {

std::string base_name(std::string_view path)
{
    auto slash = path.rfind('/');
    return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

} // namespace

Result<std::vector<system::TreeEntry>> apt_repo_tree(const common::bundle::BundleIndex& index, std::string_view target,
                                                     std::string_view store)
{
    auto debs = index.debs.find(std::string(target));
    auto indexes = index.apt_indexes.find(std::string(target));
    if (debs == index.debs.end() || indexes == index.apt_indexes.end())
        return fail(Errc::not_found, "the bundle has no .deb repository for {}", target);
    std::vector<system::TreeEntry> tree;
    std::set<std::string> seen;
    for (const common::bundle::DebEntry& d : debs->second) {
        // The Packages the bundler wrote name each file pool/<basename> (docs/formats.md).
        std::string path = "pool/" + base_name(d.filename);
        if (!seen.insert(path).second) return fail(Errc::corrupt, "debs[{}]: two packages share the file name {}", target, path);
        tree.push_back({path, node::NodePaths::blob_in(store, d.blob.digest), {}});
    }
    const common::bundle::AptIndex& a = indexes->second;
    std::string dir = fmt::format("dists/{}/main/binary-{}", k_apt_suite, a.architecture);
    tree.push_back({dir + "/Packages", node::NodePaths::blob_in(store, a.packages.digest), {}});
    tree.push_back({dir + "/Packages.gz", node::NodePaths::blob_in(store, a.packages_gz.digest), {}});
    tree.push_back({dir + "/Packages.xz", node::NodePaths::blob_in(store, a.packages_xz.digest), {}});
    tree.push_back({fmt::format("dists/{}/Release", k_apt_suite), {}, apt_release(a, apt_date(index.created))});
    std::sort(tree.begin(), tree.end(), [](const auto& x, const auto& y) { return x.path < y.path; });
    return tree;
}

std::string apt_date(std::int64_t unix_seconds)
{
    std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    return fmt::format("{}, {:02} {} {} {:02}:{:02}:{:02} UTC", days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
                       tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string apt_release(const common::bundle::AptIndex& a, std::string_view date)
{
    std::string out = fmt::format("Origin: platform-installer\nLabel: platform-installer\nSuite: {0}\nCodename: {0}\n"
                                  "Date: {1}\nArchitectures: {2}\nComponents: main\n"
                                  "Description: the bundle's packages, served on this node by platform-installer\nSHA256:\n",
                                  k_apt_suite, date, a.architecture);
    std::string dir = fmt::format("main/binary-{}", a.architecture);
    out += fmt::format(" {} {:>16} {}/Packages\n", a.packages.digest.hex(), a.packages.size, dir);
    out += fmt::format(" {} {:>16} {}/Packages.gz\n", a.packages_gz.digest.hex(), a.packages_gz.size, dir);
    out += fmt::format(" {} {:>16} {}/Packages.xz\n", a.packages_xz.digest.hex(), a.packages_xz.size, dir);
    return out;
}

std::string apt_sources_entry(std::string_view target)
{
    return fmt::format("# The bundle's packages, served on this node by platform-installer (--reset removes this file).\n"
                       "Types: deb\nURIs: file:{}/{}\nSuites: {}\nComponents: main\nSigned-By: {}\n",
                       k_apt_root, target, k_apt_suite, k_apt_keyring);
}

std::vector<std::string> apt_isolation_options(std::string_view sources_dir, std::string_view lists_dir, int lock_timeout_s)
{
    return {"-o", "Dir::Etc::SourceList=/dev/null",
            "-o", fmt::format("Dir::Etc::SourceParts={}", sources_dir),
            "-o", fmt::format("Dir::State::Lists={}", lists_dir),
            "-o", "APT::Get::List-Cleanup=false",
            "-o", fmt::format("DPkg::Lock::Timeout={}", lock_timeout_s),
            "-o", "Dpkg::Options::=--force-confold",
            "-o", "Dpkg::Options::=--force-confdef"};
}

} // namespace installer::phases
