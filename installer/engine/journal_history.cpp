// SPDX-License-Identifier: Apache-2.0
#include <installer/engine/journal_history.hpp>

#include <nlohmann/json.hpp>

namespace installer::engine {

namespace {
std::string key(const std::string& bundle, const std::string& role, const std::string& phase)
{
    return bundle + "|" + role + "|" + phase;
}
} // namespace

JournalHistory JournalHistory::parse(std::string_view text)
{
    JournalHistory h;
    while (!text.empty()) {
        std::size_t end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
        if (end == std::string_view::npos) break; // a torn last line: its event did not complete
        nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object()) continue;
        try {
            std::string bundle = j.at("bundle"), role = j.at("role"), phase = j.at("phase"), event = j.at("event");
            std::int64_t time = j.value("time", std::int64_t{0});
            PhaseRecord& r = h.m_phases[key(bundle, role, phase)];
            if (event == "start") r.started = time;
            else if (!(r.event == "start" && (event == "done" || event == "failed"))) r.started.reset();
            r.event = event;
            r.time = time;
            h.m_last_bundle = bundle;
            h.m_last_role = role;
        } catch (const std::exception&) {
            // Not a journal event (a line of another version): skipped.
        }
    }
    return h;
}

PhaseRecord JournalHistory::phase(const std::string& bundle, const std::string& role, const std::string& phase) const
{
    auto it = m_phases.find(key(bundle, role, phase));
    return it == m_phases.end() ? PhaseRecord{} : it->second;
}

std::optional<std::string> JournalHistory::unfinished(const std::string& bundle, const std::string& role) const
{
    std::string prefix = bundle + "|" + role + "|";
    for (const auto& [k, r] : m_phases)
        if (k.starts_with(prefix) && r.event == "start") return k.substr(prefix.size());
    return std::nullopt;
}

} // namespace installer::engine
