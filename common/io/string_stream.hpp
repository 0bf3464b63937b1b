// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstring>
#include <string>
#include <string_view>

#include <common/io/stream.hpp>

namespace common::io {

// Reads from a string the caller keeps alive.
class StringSource : public Source {
public:
    explicit StringSource(std::string_view data) : m_data(data) {}
    Result<std::size_t> read(std::span<std::byte> out) override
    {
        std::size_t n = std::min(out.size(), m_data.size());
        std::memcpy(out.data(), m_data.data(), n);
        m_data.remove_prefix(n);
        return n;
    }

private:
    std::string_view m_data;
};

// Collects bytes in memory, refusing more than `cap` (documents, indexes, responses: never unbounded).
class StringSink : public Sink {
public:
    StringSink(std::size_t cap, std::string what) : m_cap(cap), m_what(std::move(what)) {}
    Result<void> write(std::span<const std::byte> data) override
    {
        if (m_text.size() + data.size() > m_cap) return fail(Errc::invalid_argument, "{}: over the limit of {} bytes", m_what, m_cap);
        m_text.append(reinterpret_cast<const char*>(data.data()), data.size());
        return {};
    }
    std::string take() { return std::move(m_text); }

private:
    std::size_t m_cap;
    std::string m_what;
    std::string m_text;
};

} // namespace common::io
