// SPDX-License-Identifier: Apache-2.0
// A node-local OpenPGP v4 signing key (Ed25519, RFC 4880 + RFC 9580's v4 EdDSALegacy: algorithm 22, curve
// OID 1.3.6.1.4.1.11591.15.1) that signs the node's apt Release as InRelease (cleartext signature
// framework, RFC 4880 section 7). docs/apt-signing.md has the design and the packet layout.
//
// The secret file (serialize / parse), format 1: UTF-8 text, exactly these five lines in this order, each
// ending in "\n" (the last newline may be missing), no other lines, no carriage returns:
//
//   platform-installer openpgp-key 1
//   created: <unix seconds, decimal, 0..4294967295: the key packet's creation time>
//   user-id: <the user ID, 1..1024 bytes of UTF-8 without control characters>
//   fingerprint: <40 upper-case hex digits: the v4 fingerprint, recomputed and compared on parse>
//   ed25519-seed: <64 lower-case hex digits: the 32-byte Ed25519 private key (RFC 8032 seed)>
//
// The seed is the secret: whoever writes the file keeps it 0600. The fingerprint line only guards against
// a damaged or hand-edited file (parse refuses a seed that does not give that fingerprint).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include <common/util/error.hpp>

namespace common::pgp {

class SigningKey {
public:
    // A new random key. `created` (unix seconds, must fit 32 bits) goes into the key packet and the
    // self-signature; user_id e.g. "platform-installer node repository <root@node>". invalid_argument for a
    // bad user ID or time, io when OpenSSL cannot make a key.
    static Result<SigningKey> generate(std::string user_id, std::int64_t created);

    // The secret file (format 1 above), and back. parse: corrupt for anything malformed, digest_mismatch
    // when the seed does not give the recorded fingerprint.
    std::string serialize() const;
    static Result<SigningKey> parse(std::string_view text);

    // The transferable public key, binary (no armor), for apt's signed-by=: public-key packet, user ID
    // packet, positive certification (0x13, SHA-512) with hashed creation time, key flags certify+sign and
    // issuer fingerprint, unhashed issuer key ID. Deterministic: the same key gives the same bytes.
    std::string public_keyring() const;

    // The v4 fingerprint as 40 upper-case hex digits (as gpg, sqv and apt's Signed-By print it).
    std::string fingerprint_hex() const;
    // The key ID (the fingerprint's last 16 hex digits, upper case).
    std::string key_id_hex() const;
    const std::string& user_id() const { return m_user_id; }
    std::int64_t created() const { return m_created; }

    // `text` as apt's InRelease: "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n", the text's lines
    // with trailing spaces and tabs removed and lines starting with '-' dash-escaped, then an armored
    // signature (type 0x01 canonical text, SHA-512; hashed: creation time `when` and issuer fingerprint;
    // unhashed: issuer key ID) with its CRC-24. Lines end in "\n" or "\r\n"; the text's final newline is
    // not signed (RFC 4880 7.1), so "a\n" and "a" sign alike. invalid_argument when `when` precedes the
    // key's creation or does not fit 32 bits, or the text holds a carriage return not ending a line.
    Result<std::string> clearsign(std::string_view text, std::int64_t when) const;

    ~SigningKey();
    SigningKey(const SigningKey&) = default;
    SigningKey(SigningKey&&) = default;
    SigningKey& operator=(const SigningKey&) = default;
    SigningKey& operator=(SigningKey&&) = default;

private:
    SigningKey() = default;
    // Derives the public key, fingerprint and self-signature from the seed (all deterministic).
    static Result<SigningKey> from_seed(const std::array<std::uint8_t, 32>& seed, std::int64_t created,
                                        std::string user_id);

    std::array<std::uint8_t, 32> m_seed{};        // the secret; wiped by the destructor
    std::array<std::uint8_t, 20> m_fingerprint{}; // SHA-1 over 0x99, length and the public-key packet body
    std::string m_public_packet;                  // the public-key packet, header included
    std::string m_certification;                  // the 0x13 self-signature packet, header included
    std::int64_t m_created = 0;
    std::string m_user_id;
};

} // namespace common::pgp
