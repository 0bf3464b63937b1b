// SPDX-License-Identifier: Apache-2.0
// Hashing while copying, in one place: a sink that hashes and counts what passes through it (and refuses
// bytes past an expected size), and a source that hashes every byte it returns, never reads past the
// expected size, and reports size_mismatch or digest_mismatch instead of end-of-stream, so no caller can
// skip the check.
#pragma once

#include <optional>
#include <string>

#include <common/digest/sha256.hpp>
#include <common/io/stream.hpp>

namespace common::io {

// What content must be: its sha256 and size.
struct Expected {
    digest::Digest digest;
    std::uint64_t size = 0;
};

// "<what>: size mismatch: got N bytes, want M bytes" / "<what>: sha256 mismatch: got X, want Y".
Result<void> check_content(std::string_view what, const Expected& want, const digest::Digest& got, std::uint64_t got_size);

class VerifyingSink : public Sink {
public:
    // Passes bytes on to `out` (if any). With `want`, a write past want.size fails with size_mismatch.
    explicit VerifyingSink(Sink* out = nullptr, std::optional<Expected> want = std::nullopt, std::string what = {});
    Result<void> write(std::span<const std::byte> data) override;
    std::uint64_t count() const { return m_count; }
    // Ends the hash: the digest of every byte written.
    digest::Digest finish() { return m_hash.finish(); }
    // Ends the hash and compares it (and the count) with the expectation, naming `what`.
    Result<digest::FileDigest> check();

private:
    Sink* m_out;
    std::optional<Expected> m_want;
    std::string m_what;
    digest::Sha256 m_hash;
    std::uint64_t m_count = 0;
};

class VerifyingSource : public Source {
public:
    VerifyingSource(Source& in, Expected want, std::string what) : m_in(in), m_want(want), m_what(std::move(what)) {}
    // Returns 0 only once every expected byte came and matched; a source that ends early, goes on past
    // the expected size, or differs gives size_mismatch or digest_mismatch naming `what`.
    Result<std::size_t> read(std::span<std::byte> out) override;

private:
    Source& m_in;
    Expected m_want;
    std::string m_what;
    digest::Sha256 m_hash;
    std::uint64_t m_count = 0;
    bool m_checked = false;
};

// Reads a source to its end: the sha256 and size of what it gave.
Result<digest::FileDigest> hash_all(Source& in);

} // namespace common::io
