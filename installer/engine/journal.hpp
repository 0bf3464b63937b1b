// SPDX-License-Identifier: Apache-2.0
// The install journal: <state>/journal.jsonl, one JSON object a line, appended and fsynced per event:
//   {"bundle":"sha256:...","role":"master","phase":"store","event":"start|done|failed|undone","time":1700000000}
// A torn last line (power loss mid-write) is ignored on read.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include <installer/system/jsonl_file.hpp>

namespace installer::engine {

class Journal {
public:
    // Opens (creating) the journal and reads what it recorded.
    static common::Result<Journal> open(const std::filesystem::path& path);

    // Appends an event and fsyncs before returning.
    common::Result<void> record(const std::string& bundle, const std::string& role, const std::string& phase,
                                std::string_view event);
    // True when the journal's last event for (bundle, role, phase) is "done".
    bool done(const std::string& bundle, const std::string& role, const std::string& phase) const;
    // True when a phase of this bundle/role started and did not finish (the previous run was interrupted).
    bool interrupted(const std::string& bundle, const std::string& role, std::string* phase) const;
    // Records `event` for every (bundle, role) whose last event for `phase` is "done" (reset: "undone").
    common::Result<void> record_for_done(const std::string& phase, std::string_view event);

private:
    explicit Journal(system::JsonlFile file) : m_file(std::move(file)) {}
    system::JsonlFile m_file;
    std::map<std::string, std::string> m_last; // "bundle|role|phase" -> last event
};

} // namespace installer::engine
