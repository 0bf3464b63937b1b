// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <common/io/stream.hpp>

namespace common::bundle {

// How the writer holds the data of an entry that does not compress (docs/bundle-format.md 3.1, 7).
enum class Incompressible {
    stored,      // its own zstd frame of raw blocks, written without trying to compress it (the default)
    fast_frame,  // its own zstd frame at `incompressible_level` (kept as a candidate for scripts/bench-payload)
    same_stream, // not told apart: every entry in one frame at `level` (the writer before; the benchmark's peer)
};

// An entry is told apart only from this size on, by its first k_sample_size bytes: it is incompressible
// when zstd level 1 saves less than 1/k_sample_gain_divisor of that sample.
constexpr std::uint64_t k_sample_size = 128 * 1024;
constexpr std::uint64_t k_sample_gain_divisor = 32;
// A stored frame holds raw blocks of this size (zstd's largest), the last one shorter.
constexpr std::uint64_t k_raw_block_size = 128 * 1024;
// The bytes a stored frame adds to `size` bytes of data: 14 of frame header (magic, descriptor, window,
// 8-byte content size), 3 per raw block and a 4-byte checksum (docs/bundle-format.md 3.1).
constexpr std::uint64_t stored_frame_overhead(std::uint64_t size)
{
    return 18 + 3 * (size == 0 ? 1 : (size + k_raw_block_size - 1) / k_raw_block_size);
}

struct PayloadWriterOptions {
    int level = 3;          // zstd level of compressible entries (bundler build --level)
    unsigned threads = 0;   // zstd workers; 0 = one per core. Output does not depend on the count.
    std::int64_t mtime = 0; // every entry's mtime (SOURCE_DATE_EPOCH)
    Incompressible incompressible = Incompressible::stored;
    int incompressible_level = 1; // zstd level of incompressible entries, with Incompressible::fast_frame only
};

// Writes the payload: a pax-restricted (plain ustar where possible) tar made by libarchive, compressed
// as a sequence of zstd frames into `out`: tar headers and compressible entries in multi-threaded frames
// at `level`, each incompressible entry's data in a frame of its own (see Incompressible). Entries get
// mode 0644, uid/gid 0 and a fixed mtime, so the same entries in the same order give the same bytes,
// whatever the thread count.
class PayloadWriter {
public:
    static Result<PayloadWriter> open(io::Sink& out, const PayloadWriterOptions& options);
    ~PayloadWriter();
    PayloadWriter(PayloadWriter&&) noexcept;

    // Adds one regular file of exactly `size` bytes read from `data`; size_mismatch otherwise.
    Result<void> add(const std::string& path, std::uint64_t size, io::Source& data);
    // Writes the end-of-archive marker and ends the last zstd frame.
    Result<void> finish();

private:
    struct Impl;
    explicit PayloadWriter(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

} // namespace common::bundle
