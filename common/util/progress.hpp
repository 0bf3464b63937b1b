// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace common {

// Progress of one long step on stderr: a live "\r" line on a terminal, one summary line otherwise
// (so CI logs stay readable). update() is cheap to call often.
class ProgressMeter {
public:
    ProgressMeter(std::string label, std::uint64_t total);
    ~ProgressMeter();
    ProgressMeter(const ProgressMeter&) = delete;
    ProgressMeter& operator=(const ProgressMeter&) = delete;

    void update(std::uint64_t done);
    // Prints the summary line ("label: 1.2 GiB in 3.4 s, 350 MiB/s"); called by the destructor if needed.
    void finish();

private:
    std::string m_label;
    std::uint64_t m_total;
    std::uint64_t m_done = 0;
    bool m_tty;
    bool m_finished = false;
    std::chrono::steady_clock::time_point m_start;
    std::chrono::steady_clock::time_point m_last;
};

// "1.5 GiB", "12.0 MiB", "512 B".
std::string human_bytes(std::uint64_t bytes);

} // namespace common
