// SPDX-License-Identifier: Apache-2.0
// The install journal (grammar in journal.hpp) read back from its text, never opened for writing: what
// `--status` reports. Each event carries its time (seconds), so a phase's duration is the time of the
// "done" or "failed" that ends it minus the time of its "start"; a phase found already in place is
// journaled "done" without a "start", and has no duration.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace installer::engine {

// The last event of one phase for one (bundle, role).
struct PhaseRecord {
    std::string event;                   // start, done, failed, undone; empty when the journal has none
    std::int64_t time = 0;               // when that event was recorded
    std::optional<std::int64_t> started; // the "start" this event ends (or is): absent for a done found in place, an undone

    // Seconds from start to done/failed; absent while running, when found in place, and for undone.
    std::optional<std::int64_t> seconds() const
    {
        if ((event == "done" || event == "failed") && started) return time - *started;
        return std::nullopt;
    }
};

class JournalHistory {
public:
    // Reads every complete event of the journal's text; other lines (a torn last line, another
    // version's) are skipped, as Journal::open does.
    static JournalHistory parse(std::string_view text);

    // True when the journal records no event.
    bool empty() const { return m_last_bundle.empty(); }
    // The bundle (bundle.json's "sha256:<hex>") and role of the last event.
    const std::string& last_bundle() const { return m_last_bundle; }
    const std::string& last_role() const { return m_last_role; }
    // The last event of phase for (bundle, role); its event is empty when there is none.
    PhaseRecord phase(const std::string& bundle, const std::string& role, const std::string& phase) const;
    // The phase of (bundle, role) whose last event is "start" (a run stopped, or runs now, in it).
    std::optional<std::string> unfinished(const std::string& bundle, const std::string& role) const;

private:
    std::map<std::string, PhaseRecord> m_phases; // "bundle|role|phase"
    std::string m_last_bundle, m_last_role;
};

} // namespace installer::engine
