// SPDX-License-Identifier: Apache-2.0
#include <installer/engine/journal.hpp>

#include <ctime>

namespace installer::engine {

namespace {
std::string key(const std::string& bundle, const std::string& role, const std::string& phase)
{
    return bundle + "|" + role + "|" + phase;
}
} // namespace

common::Result<Journal> Journal::open(const std::filesystem::path& path)
{
    std::vector<nlohmann::json> lines;
    auto file = system::JsonlFile::open(path, lines);
    if (!file) return common::fail(file.error().wrap("journal"));
    Journal j(std::move(*file));
    for (const nlohmann::json& line : lines) {
        try {
            j.m_last[key(line.at("bundle"), line.at("role"), line.at("phase"))] = line.at("event");
        } catch (const std::exception&) {
            // Not a journal event (a line of another version): ignored.
        }
    }
    return j;
}

common::Result<void> Journal::record(const std::string& bundle, const std::string& role, const std::string& phase,
                                     std::string_view event)
{
    TRY_VOID(m_file.append(
        {{"bundle", bundle}, {"role", role}, {"phase", phase}, {"event", event}, {"time", std::time(nullptr)}}));
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

common::Result<void> Journal::record_for_done(const std::string& phase, std::string_view event)
{
    std::vector<std::string> keys;
    for (const auto& [k, last] : m_last)
        if (last == "done" && k.ends_with("|" + phase)) keys.push_back(k);
    for (const std::string& k : keys) {
        std::size_t a = k.find('|'), b = k.find('|', a + 1);
        TRY_VOID(record(k.substr(0, a), k.substr(a + 1, b - a - 1), phase, event));
    }
    return {};
}

} // namespace installer::engine
