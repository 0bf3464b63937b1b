// SPDX-License-Identifier: Apache-2.0
#include <common/io/tar_stream.hpp>

#include <cstring>

namespace common::io {

namespace {

constexpr std::size_t k_block = 512;

std::string header(const std::string& name, std::uint64_t size)
{
    std::string h(k_block, '\0');
    std::memcpy(h.data(), name.data(), name.size());
    auto octal = [&](std::size_t at, std::size_t width, std::uint64_t v) {
        std::string digits = fmt::format("{:0{}o}", v, width - 1);
        std::memcpy(h.data() + at, digits.data(), digits.size());
    };
    octal(100, 8, 0644);
    octal(108, 8, 0);
    octal(116, 8, 0);
    octal(124, 12, size);
    octal(136, 12, 0);
    std::memset(h.data() + 148, ' ', 8);
    h[156] = '0';
    std::memcpy(h.data() + 257, "ustar\0" "00", 8);
    unsigned sum = 0;
    for (unsigned char c : h) sum += c;
    std::string check = fmt::format("{:06o}", sum);
    std::memcpy(h.data() + 148, check.data(), 6);
    h[154] = '\0';
    h[155] = ' ';
    return h;
}

std::uint64_t padding(std::uint64_t size) { return (k_block - size % k_block) % k_block; }

} // namespace

std::uint64_t TarStream::size_of(const std::vector<TarEntry>& entries)
{
    std::uint64_t total = 2 * k_block;
    for (const TarEntry& e : entries) total += k_block + e.size + padding(e.size);
    return total;
}

Result<void> TarStream::start_entry()
{
    const TarEntry& e = m_entries[m_next];
    if (e.name.empty() || e.name.size() > 100) return fail(Errc::invalid_argument, "tar entry '{}': name must be 1 to 100 bytes", e.name);
    m_pending = header(e.name, e.size);
    m_pending_at = 0;
    if (e.size > 0) {
        auto body = e.open();
        if (!body) return fail(body.error());
        m_body = std::move(*body);
    }
    m_body_left = e.size;
    return {};
}

Result<std::size_t> TarStream::read(std::span<std::byte> out)
{
    for (;;) {
        // 1. A header, padding or the end blocks waiting to be handed out.
        if (m_pending_at < m_pending.size()) {
            std::size_t n = std::min(out.size(), m_pending.size() - m_pending_at);
            std::memcpy(out.data(), m_pending.data() + m_pending_at, n);
            m_pending_at += n;
            return n;
        }
        // 2. The current entry's bytes.
        if (m_body_left > 0) {
            std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), m_body_left));
            auto n = m_body->read(out.first(want));
            if (!n) return fail(n.error());
            if (*n == 0)
                return fail(Errc::size_mismatch, "tar entry {}: its source ended {} bytes early", m_entries[m_next].name, m_body_left);
            m_body_left -= *n;
            if (m_body_left == 0) {
                // Let a verifying source check what it gave: it reports a mismatch instead of the end.
                std::byte probe[1];
                auto end = m_body->read(probe);
                if (!end) return fail(end.error());
                m_body.reset();
                m_pending.assign(padding(m_entries[m_next].size), '\0');
                m_pending_at = 0;
                ++m_next;
            }
            return *n;
        }
        if (m_ended) return 0;
        // 3. The next entry's header, or the two zero blocks that end the archive.
        if (m_next == m_entries.size()) {
            m_pending.assign(2 * k_block, '\0');
            m_pending_at = 0;
            m_ended = true;
            continue;
        }
        TRY_VOID(start_entry());
        if (m_entries[m_next].size == 0) ++m_next; // a header alone
    }
}

} // namespace common::io
