// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>
#include <functional>

#include <common/bundle/bundle_index.hpp>
#include <common/bundle/payload_reader.hpp>
#include <common/bundle/trailer.hpp>

namespace common::bundle {

// A .run file opened for reading: [installer][payload][trailer]. Every accessor that hands out bytes
// checks them against the trailer first.
class BundleFile {
public:
    // Opens the file and decodes its trailer (checks magic, version, trailer digest, sizes).
    static Result<BundleFile> open(const std::filesystem::path& path);

    const Trailer& trailer() const { return m_trailer; }
    const std::filesystem::path& path() const { return m_path; }
    std::uint64_t file_size() const { return m_size; }

    // Hashes the installer part against the trailer.
    Result<void> verify_installer(const Progress& progress = {}) const;
    // Hashes the compressed payload against the trailer (no decompression).
    Result<void> verify_payload_digest(const Progress& progress = {}) const;
    // Reads the first payload entry and checks it against bundle_json_sha256, then parses it.
    Result<BundleIndex> read_index() const;
    // Full check: installer and payload digests, then every entry decompressed and each blob's digest and
    // size checked against the index, every listed blob present once, nothing else.
    Result<BundleIndex> verify_all(const Progress& progress = {}) const;
    // A reader over the payload; the caller walks it (see PayloadReader).
    PayloadReader payload(Progress progress = {}) const;

private:
    BundleFile(std::filesystem::path path, io::File file, std::uint64_t size, Trailer trailer)
        : m_path(std::move(path)), m_file(std::move(file)), m_size(size), m_trailer(trailer)
    {
    }
    Result<BundleIndex> walk_payload(const Progress& progress) const;
    Result<void> hash_range(std::uint64_t offset, std::uint64_t size, const digest::Digest& want, std::string_view what,
                            const Progress& progress) const;

    std::filesystem::path m_path;
    io::File m_file;
    std::uint64_t m_size = 0;
    Trailer m_trailer;
};

// Reads the current payload entry (bundle.json) fully, capped at 16 MiB, and checks its digest.
Result<std::string> read_index_entry(PayloadReader& reader, const PayloadEntry& entry, const Trailer& trailer);

} // namespace common::bundle
