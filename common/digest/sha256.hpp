// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <common/util/error.hpp>

namespace common::digest {

// A SHA-256 digest; text form "sha256:<64 lowercase hex>".
struct Digest {
    std::array<std::uint8_t, 32> bytes{};

    std::string hex() const;
    std::string str() const { return "sha256:" + hex(); }
    auto operator<=>(const Digest&) const = default;

    // Accepts "sha256:<hex>" or bare "<hex>" (64 lowercase hex digits); invalid_argument otherwise.
    static Result<Digest> parse(std::string_view text);
    static Result<Digest> from_hex(std::string_view hex);
};

// Streaming SHA-256 over OpenSSL EVP. Not copyable; finish() ends the stream.
class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    Sha256(Sha256&&) noexcept;
    Sha256& operator=(Sha256&&) noexcept;

    void update(std::span<const std::byte> data);
    void update(std::string_view data) { update(std::as_bytes(std::span(data.data(), data.size()))); }
    Digest finish();

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

Digest sha256_of(std::span<const std::byte> data);
inline Digest sha256_of(std::string_view data) { return sha256_of(std::as_bytes(std::span(data.data(), data.size()))); }

// Hashes a whole file, streaming; returns the digest and byte count.
struct FileDigest {
    Digest digest;
    std::uint64_t size = 0;
};
Result<FileDigest> sha256_file(const std::string& path);

} // namespace common::digest
