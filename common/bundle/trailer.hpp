// SPDX-License-Identifier: Apache-2.0
// The trailer at the end of a .run file, format version 1 (docs/bundle-format.md).
//
//   file    = installer payload trailer
//   trailer = 288 bytes, little-endian integers:
//     0   8  magic "PLTBNDL1"
//     8   4  format_version (1)
//     12  4  trailer_size (288)
//     16  8  installer_size          installer = bytes [0, installer_size)
//     24  8  payload_offset          == installer_size in v1
//     32  8  payload_size            payload = bytes [payload_offset, payload_offset + payload_size)
//     40  8  bundle_json_size        uncompressed size of bundle.json
//     48  32 installer_sha256
//     80  32 payload_sha256          over the compressed payload bytes
//     112 32 bundle_json_sha256      over the uncompressed bundle.json
//     144 4  flags                   bit 0: signed (see signature.hpp); other bits are refused
//     148 4  reserved, zero
//     152 32 signer_fingerprint      sha256 of the raw Ed25519 public key, or zero
//     184 64 signature               Ed25519 over bytes [0, 152) of the trailer, or zero
//     248 32 trailer_sha256          over bytes [0, 248)
//     280 8  end magic "PLTEND\n\0"
// A reader refuses any format_version it does not know.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include <common/digest/sha256.hpp>

namespace common::bundle {

constexpr std::uint32_t k_format_version = 1;
constexpr std::size_t k_trailer_size = 288;
constexpr std::size_t k_signed_prefix = 152;
constexpr std::uint32_t k_known_flags = 1;

struct Trailer {
    std::uint32_t format_version = k_format_version;
    std::uint64_t installer_size = 0;
    std::uint64_t payload_offset = 0;
    std::uint64_t payload_size = 0;
    std::uint64_t bundle_json_size = 0;
    digest::Digest installer_sha256;
    digest::Digest payload_sha256;
    digest::Digest bundle_json_sha256;
    std::uint32_t flags = 0;
    std::array<std::uint8_t, 32> signer_fingerprint{};
    std::array<std::uint8_t, 64> signature{};

    // Serializes, computing trailer_sha256.
    std::array<std::byte, k_trailer_size> encode() const;
    // Parses and checks magic, version, size, trailer_sha256, flags and the reserved field;
    // corrupt/unsupported otherwise.
    // file_size, when non-zero, is checked against the offsets: neither size may exceed it and
    // payload_offset + payload_size + 288 must equal it; the sum must not overflow in any case.
    static Result<Trailer> decode(std::span<const std::byte, k_trailer_size> bytes, std::uint64_t file_size);
};

} // namespace common::bundle
