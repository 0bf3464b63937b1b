// SPDX-License-Identifier: Apache-2.0
// Strict reader of the payload: a zstd stream (one or more frames) holding a POSIX ustar/pax tar
// whose entries are `bundle.json` first, then `blobs/sha256/<hex>`, regular files only.
// Anything else (links, directories, "..", absolute or other paths) is refused, naming the entry.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <common/digest/sha256.hpp>
#include <common/io/file.hpp>

namespace common::bundle {

struct PayloadEntry {
    std::string path;
    std::uint64_t size = 0;
};

// Called with (compressed bytes consumed, total compressed bytes).
using Progress = std::function<void(std::uint64_t, std::uint64_t)>;

// Checks an entry path against the payload grammar; corrupt, naming the entry, otherwise.
Result<void> check_entry_path(std::string_view path);

// The pax records the reader honours, for the next entry only (docs/bundle-format.md 3.3).
struct PaxOverrides {
    std::optional<std::string> path;
    std::optional<std::uint64_t> size;
};

// Parses pax extended header data, records "<len> <key>=<value>\n", over `pax` (a later record wins);
// corrupt for a malformed record, a length out of range, or a size that is not decimal or exceeds 64 bits.
Result<PaxOverrides> parse_pax(std::string_view data, PaxOverrides pax = {});

// Most zero bytes accepted after the first end-of-archive block: one tar record of 20 blocks (GNU tar's
// default blocking), which holds the second zero block and any record padding.
constexpr std::uint64_t k_max_end_padding = 10240;
// Most consecutive pax headers (each at most 1 MiB) accepted before one entry.
constexpr std::size_t k_max_pax_headers = 8;

class PayloadReader {
public:
    // Reads [offset, offset + size) of file, which must outlive the reader.
    PayloadReader(const io::File& file, std::uint64_t offset, std::uint64_t size, Progress progress = {});
    ~PayloadReader();
    PayloadReader(PayloadReader&&) noexcept;

    // The next entry; nullopt after the end-of-archive marker. Skips what is left of the previous entry.
    Result<std::optional<PayloadEntry>> next();
    // Reads the current entry's data; 0 at its end.
    Result<std::size_t> read(std::span<std::byte> out);
    // After next() returned nullopt: checks that only zero padding follows, at most k_max_end_padding
    // bytes of it, that the zstd stream ends exactly at the payload's end, and returns the sha256 of the
    // compressed payload bytes.
    Result<digest::Digest> finish();

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace common::bundle
