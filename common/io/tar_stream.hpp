// SPDX-License-Identifier: Apache-2.0
// A POSIX ustar archive produced as a stream: each entry's header, its bytes from a source opened when
// the entry is reached, zero padding to 512 bytes, and two zero blocks at the end. Deterministic: mode
// 0644, uid/gid 0, mtime 0, no user or group names. Names up to 100 bytes (a ustar name without prefix).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <common/io/stream.hpp>

namespace common::io {

struct TarEntry {
    std::string name;
    std::uint64_t size = 0;
    // Opens the entry's bytes; the source must give exactly `size` bytes (a VerifyingSource checks more).
    std::function<Result<std::unique_ptr<Source>>()> open;
};

class TarStream : public Source {
public:
    // invalid_argument (from read) for a name over 100 bytes.
    explicit TarStream(std::vector<TarEntry> entries) : m_entries(std::move(entries)) {}
    Result<std::size_t> read(std::span<std::byte> out) override;
    // The archive's size, known before it is read.
    static std::uint64_t size_of(const std::vector<TarEntry>& entries);

private:
    Result<void> start_entry();
    std::vector<TarEntry> m_entries;
    std::size_t m_next = 0;
    std::unique_ptr<Source> m_body;
    std::uint64_t m_body_left = 0;
    std::string m_pending; // header, padding or the end blocks, not yet handed out
    std::size_t m_pending_at = 0;
    bool m_ended = false;
};

} // namespace common::io
