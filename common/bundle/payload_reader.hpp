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
    // After next() returned nullopt: checks that only zero padding follows, that the zstd stream ends
    // exactly at the payload's end, and returns the sha256 of the compressed payload bytes.
    Result<digest::Digest> finish();

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace common::bundle
