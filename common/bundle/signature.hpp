// SPDX-License-Identifier: Apache-2.0
// Ed25519 signatures over a bundle's trailer (format v1, flags bit 0). The signed bytes are trailer
// [0, 152): magic, version, sizes, the installer, payload and bundle.json digests, flags and reserved, so
// a signature covers every byte of the file. The signer's raw public key travels in bundle.json
// ("signer"), covered by bundle_json_sha256; the trailer carries its fingerprint, sha256(raw key).
#pragma once

#include <array>
#include <filesystem>
#include <span>
#include <string>

#include <common/digest/sha256.hpp>

namespace common::bundle {

constexpr std::uint32_t k_flag_signed = 1;

// A private signing key loaded from a PEM file (openssl genpkey -algorithm ed25519).
class SigningKey {
public:
    static Result<SigningKey> load(const std::filesystem::path& pem);
    ~SigningKey();
    SigningKey(SigningKey&& other) noexcept;
    SigningKey& operator=(SigningKey&&) = delete;

    const std::array<std::uint8_t, 32>& public_key() const { return m_public; }
    digest::Digest fingerprint() const { return digest::sha256_of(std::as_bytes(std::span(m_public))); }
    Result<std::array<std::uint8_t, 64>> sign(std::span<const std::byte> message) const;

private:
    SigningKey(void* key, std::array<std::uint8_t, 32> pub) : m_key(key), m_public(pub) {}
    void* m_key = nullptr; // EVP_PKEY*
    std::array<std::uint8_t, 32> m_public{};
};

// Checks an Ed25519 signature with a raw 32-byte public key; digest_mismatch when it does not verify.
Result<void> verify_signature(std::span<const std::uint8_t, 32> public_key, std::span<const std::byte> message,
                              std::span<const std::uint8_t, 64> signature);

// The fingerprint in a PEM public or private key file (for `--signer FILE`).
Result<digest::Digest> fingerprint_of_pem(const std::filesystem::path& pem);

// `--signer` as operators give it: "sha256:<hex>" (what `--info` prints) or a PEM key file.
Result<digest::Digest> parse_signer(const std::string& spec);

} // namespace common::bundle
