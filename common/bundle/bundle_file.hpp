// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>

#include <common/bundle/bundle_index.hpp>
#include <common/bundle/payload_reader.hpp>
#include <common/bundle/trailer.hpp>

namespace common::bundle {

// Where walk() puts a blob's bytes. commit() is called only after the walker checked the bytes
// against the blob's size and digest; a sink destroyed without commit() must leave nothing behind.
class BlobSink : public io::Sink {
public:
    virtual Result<void> commit() = 0;
};

// Chooses a sink per blob: nullptr means "only check this blob" (e.g. it is already stored).
using BlobSinkFactory = std::function<Result<std::unique_ptr<BlobSink>>(const store::BlobRef&)>;

struct WalkResult {
    BundleIndex index;
    std::string index_json; // bundle.json exactly as stored
};

// A .run file opened for reading: [installer][payload][trailer].
class BundleFile {
public:
    // Opens the file and decodes its trailer (checks magic, version, flags, trailer digest, sizes).
    static Result<BundleFile> open(const std::filesystem::path& path);

    const Trailer& trailer() const { return m_trailer; }
    const std::filesystem::path& path() const { return m_path; }
    std::uint64_t file_size() const { return m_size; }

    // Hashes the installer part against the trailer.
    Result<void> verify_installer(const Progress& progress = {}) const;
    // Hashes the compressed payload against the trailer (no decompression).
    Result<void> verify_payload_digest(const Progress& progress = {}) const;
    // Reads the first payload entry, checks it against bundle_json_sha256 and parses it. On failure, a
    // damaged payload is reported as such (its digest is then checked) rather than as a zstd or tar error.
    Result<BundleIndex> read_index() const;
    // One pass over the payload with every check: bundle.json against the trailer; each entry a listed
    // blob, once, whose bytes match its size and digest (handed to the sink from `sinks`, if any, and
    // committed only then); every listed blob present; only zero padding after the archive; the
    // compressed bytes' sha256 equal to the trailer's. When the walk fails on a damaged payload, the
    // error names the payload digest mismatch (the root cause) rather than the zstd or tar symptom.
    Result<WalkResult> walk(const Progress& progress, const BlobSinkFactory& sinks) const;
    // The signer's fingerprint when the trailer says the bundle is signed.
    std::optional<digest::Digest> signer() const;
    // Refuses a bundle that is not signed by `trusted` (unsigned, or re-signed by another key). The
    // signature itself is checked whenever the index is read (read_index, walk).
    Result<void> require_signer(const digest::Digest& trusted) const;
    // Full check without writing: the installer digest, then walk().
    Result<BundleIndex> verify_all(const Progress& progress = {}) const;

private:
    BundleFile(std::filesystem::path path, io::File file, std::uint64_t size, Trailer trailer)
        : m_path(std::move(path)), m_file(std::move(file)), m_size(size), m_trailer(trailer)
    {
    }
    Result<void> check_signature(const BundleIndex& index) const;
    // The first entry: bundle.json checked against the trailer, parsed, its signature checked.
    Result<WalkResult> read_first_entry(PayloadReader& reader) const;
    Result<WalkResult> walk_entries(const Progress& progress, const BlobSinkFactory& sinks) const;
    PayloadReader payload(Progress progress = {}) const;
    Result<void> hash_range(std::uint64_t offset, std::uint64_t size, const digest::Digest& want, std::string_view what,
                            const Progress& progress) const;

    std::filesystem::path m_path;
    io::File m_file;
    std::uint64_t m_size = 0;
    Trailer m_trailer;
};

} // namespace common::bundle
