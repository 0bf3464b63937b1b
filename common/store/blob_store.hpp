// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <common/digest/sha256.hpp>
#include <common/io/file.hpp>
#include <common/io/verifying_stream.hpp>

namespace common::store {

// What a blob must be: its digest and size.
struct BlobRef {
    digest::Digest digest;
    std::uint64_t size = 0;
};

class BlobStore;

// Who checks the digest of an ingest: the store (it hashes every byte), or the caller, who already
// hashes the same bytes on their way in and calls commit() only once they matched (the payload walker).
enum class Verify { by_store, by_caller };

// One write transaction into the store: bytes go to ingest/, hashed as they come, under an flock that
// tells cleaners the file is in use. commit() checks size and digest, fsyncs and renames into
// blobs/sha256/<hex>. Destroying an uncommitted Ingest removes its temporary file.
class Ingest : public io::Sink {
public:
    Ingest(Ingest&&) noexcept = default;
    Ingest& operator=(Ingest&&) noexcept = default;
    ~Ingest() override;

    // Writes up to the expected size. Bytes past it are never stored: with Verify::by_store they are
    // hashed (up to k_max_excess_hashed or the expected size, whichever is larger; past that write fails
    // with size_mismatch) so that commit() can name the digest of what was served; with Verify::by_caller
    // write fails with size_mismatch at once.
    Result<void> write(std::span<const std::byte> data) override;
    // Verifies and publishes; a blob already present counts as success. size_mismatch names both sizes
    // and both digests ("got N bytes (sha256:X), want M bytes (sha256:Y)"); digest_mismatch both digests.
    Result<void> commit();
    // For an ingest begun without an expected blob: publishes under the digest of what was written.
    Result<BlobRef> commit_as_written();
    std::uint64_t written() const { return m_written; }

    // How many bytes past the expected size are still hashed, at least.
    static constexpr std::uint64_t k_max_excess_hashed = 64u << 20;

private:
    friend class BlobStore;
    Ingest(io::File file, std::optional<BlobRef> want, Verify verify, std::filesystem::path blobs_dir);
    Result<void> publish(const digest::Digest& d);
    std::uint64_t excess_bound() const;
    Result<void> fail_unhashed() const;

    io::File m_file;
    std::optional<BlobRef> m_want;
    Verify m_verify = Verify::by_store;
    std::filesystem::path m_blobs_dir;
    io::VerifyingSink m_hash; // hashes and counts every byte served, stored or not
    std::uint64_t m_written = 0;      // stored in the file
    std::uint64_t m_excess = 0;       // received past the expected size, not stored
    bool m_excess_unhashed = false;   // the excess went past excess_bound(): the served digest is unknown
    bool m_done = false;
};

// Content-addressed store: <root>/blobs/sha256/<hex>, written once, safe for concurrent writers
// (each writer has its own temporary file; rename is atomic; an existing blob is never rewritten).
class BlobStore {
public:
    // Opens (creating if needed) the store at root.
    static Result<BlobStore> open(const std::filesystem::path& root);
    // A read-only view that creates nothing (for checks and dry runs); begin() fails if the store is absent.
    static BlobStore view(const std::filesystem::path& root) { return BlobStore(root); }

    const std::filesystem::path& root() const { return m_root; }
    std::filesystem::path blob_path(const digest::Digest& d) const;
    // True when the blob exists with the expected size (cheap; not proof of content).
    bool contains(const BlobRef& ref) const;
    // Starts writing a blob that must end up as `want`.
    Result<Ingest> begin(const BlobRef& want, Verify verify = Verify::by_store) const;
    // Starts writing a blob whose digest is not known yet (bundler lock); see commit_as_written().
    Result<Ingest> begin_unknown() const;
    // Copies a stored blob into dst, checking its size and digest on the way (verify on consume): the
    // kernel copies (copy_file_range, or a write from the mapping where unsupported) while the blob is
    // hashed through a read-only mapping, so no byte is copied through user space twice.
    Result<void> copy_out(const BlobRef& ref, io::File& dst) const;
    // Re-hashes a stored blob; digest_mismatch/size_mismatch when it was damaged.
    Result<void> verify(const BlobRef& ref) const;
    // Removes the ingest files that killed writers left, returning how many: an Ingest holds an flock on
    // its file while it lives (io::File::create_temp), so another process's live ingest is left alone.
    Result<std::size_t> remove_stale_ingests() const;

private:
    explicit BlobStore(std::filesystem::path root) : m_root(std::move(root)) {}
    std::filesystem::path m_root;
};

// Verifies content against a ref, naming `what` in the error: "<what>: sha256 mismatch: got X, want Y".
Result<void> check_blob(std::string_view what, const BlobRef& want, const digest::Digest& got, std::uint64_t got_size);

} // namespace common::store
