// SPDX-License-Identifier: Apache-2.0
#include <installer/system/change_log.hpp>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <fcntl.h>
#include <set>

namespace installer::system {

using common::Errc;
using common::fail;

namespace {

constexpr std::string_view k_ops[] = {"create", "replace", "remove", "mkdir", "start", "tree", "packages", "uninstall"};

} // namespace

std::string_view to_string(ChangeOp op) { return k_ops[static_cast<std::size_t>(op)]; }

common::Result<ChangeLog> ChangeLog::open(const std::filesystem::path& state_dir)
{
    TRY_VOID(common::io::make_dirs(state_dir / "backups"));
    std::filesystem::path backups = state_dir / "backups";
    int fd = ::open(backups.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return common::fail_errno("open " + backups.string(), errno);
    common::io::File backups_dir(fd, backups.string());

    std::vector<nlohmann::json> lines;
    auto file = JsonlFile::open(state_dir / "changes.jsonl", lines);
    if (!file) return fail(file.error().wrap("change log"));
    ChangeLog log(std::move(*file), std::move(backups_dir));
    for (const nlohmann::json& j : lines) {
        try {
            if (j.contains("undone")) {
                log.m_undone.push_back(j.at("undone").get<std::uint64_t>());
                continue;
            }
            Change c;
            c.seq = j.at("seq").get<std::uint64_t>();
            c.phase = j.at("phase").get<std::string>();
            std::string op = j.at("op").get<std::string>();
            auto it = std::find(std::begin(k_ops), std::end(k_ops), op);
            if (it == std::end(k_ops))
                return fail(Errc::corrupt, "change log {}: change {} has an unknown op '{}'", log.m_file.path().string(), c.seq, op);
            c.op = static_cast<ChangeOp>(it - std::begin(k_ops));
            c.path = j.at("path").get<std::string>();
            c.backup = j.value("backup", false);
            log.m_next = std::max(log.m_next, c.seq + 1);
            log.m_changes.push_back(std::move(c));
        } catch (const std::exception& e) {
            return fail(Errc::corrupt, "change log {}: {}: {}", log.m_file.path().string(), j.dump(), e.what());
        }
    }
    return log;
}

common::Result<Change> ChangeLog::record(Change c)
{
    c.seq = m_next;
    nlohmann::json j{{"seq", c.seq}, {"phase", c.phase}, {"op", to_string(c.op)}, {"path", c.path}, {"time", std::time(nullptr)}};
    if (c.backup) j["backup"] = true;
    TRY_VOID(m_file.append(j));
    ++m_next;
    m_changes.push_back(c);
    return c;
}

common::Result<void> ChangeLog::mark_undone(std::uint64_t seq)
{
    TRY_VOID(m_file.append({{"undone", seq}}));
    m_undone.push_back(seq);
    return {};
}

std::vector<Change> ChangeLog::pending() const
{
    std::set<std::uint64_t> undone(m_undone.begin(), m_undone.end());
    std::vector<Change> out;
    for (const Change& c : m_changes)
        if (!undone.contains(c.seq)) out.push_back(c);
    return out;
}

} // namespace installer::system
