// SPDX-License-Identifier: Apache-2.0
#include <common/util/progress.hpp>

#include <fmt/format.h>
#include <unistd.h>

namespace common {

std::string human_bytes(std::uint64_t bytes)
{
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(bytes);
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        ++u;
    }
    return u == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", v, units[u]);
}

ProgressMeter::ProgressMeter(std::string label, std::uint64_t total)
    : m_label(std::move(label)), m_total(total), m_tty(::isatty(STDERR_FILENO) != 0),
      m_start(std::chrono::steady_clock::now()), m_last(m_start)
{
}

ProgressMeter::~ProgressMeter() { finish(); }

void ProgressMeter::update(std::uint64_t done)
{
    m_done = done;
    if (!m_tty) return;
    auto now = std::chrono::steady_clock::now();
    if (now - m_last < std::chrono::milliseconds(200)) return;
    m_last = now;
    if (m_total == 0) fmt::print(stderr, "\r{}: {}   ", m_label, human_bytes(done)); // size not known yet
    else
        fmt::print(stderr, "\r{}: {} / {} ({:.0f}%)   ", m_label, human_bytes(done), human_bytes(m_total),
                   100.0 * static_cast<double>(done) / static_cast<double>(m_total));
    std::fflush(stderr);
}

void ProgressMeter::finish()
{
    if (m_finished) return;
    m_finished = true;
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
    double rate = secs > 0 ? static_cast<double>(m_done) / secs : 0;
    fmt::print(stderr, "{}{}: {} in {:.1f} s ({}/s)\n", m_tty ? "\r" : "", m_label, human_bytes(m_done), secs,
               human_bytes(static_cast<std::uint64_t>(rate)));
}

} // namespace common
