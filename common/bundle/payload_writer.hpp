// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <common/io/stream.hpp>

namespace common::bundle {

// The size of each multi-threaded zstd job (ZSTD_c_jobSize): part of what the output bytes depend on.
constexpr int k_zstd_job_size = 2 << 20;

struct PayloadWriterOptions {
    int level = 3;          // zstd level
    unsigned threads = 0;   // zstd workers; 0 = one per core. Output does not depend on the count.
    std::int64_t mtime = 0; // every entry's mtime (SOURCE_DATE_EPOCH)
};

// Writes the payload: a pax-restricted (plain ustar where possible) tar made by libarchive, compressed
// as one multi-threaded zstd stream, into `out`. Entries get mode 0644, uid/gid 0 and a fixed mtime,
// so the same entries in the same order give the same bytes.
class PayloadWriter {
public:
    static Result<PayloadWriter> open(io::Sink& out, const PayloadWriterOptions& options);
    ~PayloadWriter();
    PayloadWriter(PayloadWriter&&) noexcept;

    // Adds one regular file of exactly `size` bytes read from `data`; size_mismatch otherwise.
    Result<void> add(const std::string& path, std::uint64_t size, io::Source& data);
    // Writes the end-of-archive marker and ends the zstd stream.
    Result<void> finish();

private:
    struct Impl;
    explicit PayloadWriter(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

} // namespace common::bundle
