// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <span>

#include <common/util/error.hpp>

namespace common::io {

// Reads into a span; returns bytes read, 0 only at the end of the stream.
class Source {
public:
    virtual ~Source() = default;
    virtual Result<std::size_t> read(std::span<std::byte> out) = 0;
};

// Writes a whole span or fails.
class Sink {
public:
    virtual ~Sink() = default;
    virtual Result<void> write(std::span<const std::byte> data) = 0;
};

// Copies src to dst until end of stream; returns the byte count.
Result<std::uint64_t> copy(Source& src, Sink& dst);

} // namespace common::io
