// SPDX-License-Identifier: Apache-2.0
#include <common/pgp/openpgp_key.hpp>

#include <common/util/base64.hpp>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <memory>
#include <span>
#include <vector>

namespace common::pgp {

namespace {

// Packet tags, algorithm numbers and subpacket types of RFC 4880 / RFC 9580.
constexpr std::uint8_t k_tag_signature = 2;
constexpr std::uint8_t k_tag_public_key = 6;
constexpr std::uint8_t k_tag_user_id = 13;
constexpr std::uint8_t k_algo_eddsa_legacy = 22;
constexpr std::uint8_t k_hash_sha512 = 10;
constexpr std::uint8_t k_sig_text = 0x01;
constexpr std::uint8_t k_sig_positive_certification = 0x13;
constexpr std::uint8_t k_sub_creation_time = 2;
constexpr std::uint8_t k_sub_issuer_key_id = 16;
constexpr std::uint8_t k_sub_key_flags = 27;
constexpr std::uint8_t k_sub_issuer_fingerprint = 33;
constexpr std::uint8_t k_key_flags_certify_sign = 0x01 | 0x02;
// 1.3.6.1.4.1.11591.15.1 (Ed25519) without the DER tag and length, as the key packet carries it.
constexpr std::string_view k_ed25519_oid{"\x2B\x06\x01\x04\x01\xDA\x47\x0F\x01", 9};

constexpr std::string_view k_file_magic = "platform-installer openpgp-key 1";
constexpr std::string_view k_file_magic_prefix = "platform-installer openpgp-key ";
constexpr std::size_t k_max_user_id = 1024;

struct PkeyFree {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
struct MdCtxFree {
    void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};

void put_u16(std::string& out, std::size_t v)
{
    out += static_cast<char>((v >> 8) & 0xff);
    out += static_cast<char>(v & 0xff);
}

void put_u32(std::string& out, std::uint64_t v)
{
    for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}

// An old-format packet header (what gpg writes for these tags): length type 0, 1 or 2 by size.
std::string packet(std::uint8_t tag, std::string_view body)
{
    std::string out;
    std::uint8_t ctb = static_cast<std::uint8_t>(0x80 | (tag << 2));
    if (body.size() < 0x100) {
        out += static_cast<char>(ctb);
        out += static_cast<char>(body.size());
    } else if (body.size() < 0x10000) {
        out += static_cast<char>(ctb | 1);
        put_u16(out, body.size());
    } else {
        out += static_cast<char>(ctb | 2);
        put_u32(out, body.size());
    }
    out += body;
    return out;
}

// An MPI: bit count of the value without leading zero bits, then the value without leading zero bytes.
std::string mpi(std::span<const std::uint8_t> value)
{
    std::size_t skip = 0;
    while (skip < value.size() && value[skip] == 0) ++skip;
    value = value.subspan(skip);
    std::size_t bits = 0;
    if (!value.empty()) {
        bits = (value.size() - 1) * 8;
        for (std::uint8_t top = value[0]; top != 0; top >>= 1) ++bits;
    }
    std::string out;
    put_u16(out, bits);
    out.append(reinterpret_cast<const char*>(value.data()), value.size());
    return out;
}

// A signature subpacket; every one here is shorter than 192 bytes, so its length is one byte.
std::string subpacket(std::uint8_t type, std::string_view data)
{
    std::string out;
    out += static_cast<char>(data.size() + 1);
    out += static_cast<char>(type);
    out += data;
    return out;
}

template <std::size_t N>
std::string_view as_chars(const std::array<std::uint8_t, N>& bytes)
{
    return {reinterpret_cast<const char*>(bytes.data()), N};
}

template <std::size_t N>
Result<std::array<std::uint8_t, N>> digest_of(const EVP_MD* md, std::string_view data)
{
    std::array<std::uint8_t, N> out{};
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), out.data(), &len, md, nullptr) != 1 || len != N)
        return fail(Errc::io, "hash: OpenSSL failed");
    return out;
}

constexpr std::string_view k_hex_upper = "0123456789ABCDEF";
constexpr std::string_view k_hex_lower = "0123456789abcdef";

std::string hex(std::span<const std::uint8_t> bytes, std::string_view digits = k_hex_upper)
{
    std::string out;
    for (std::uint8_t b : bytes) {
        out += digits[b >> 4];
        out += digits[b & 0xf];
    }
    return out;
}

// Hex (either case) into exactly N bytes; false for anything else.
template <std::size_t N>
bool parse_hex(std::string_view text, std::array<std::uint8_t, N>& out)
{
    if (text.size() != 2 * N) return false;
    for (std::size_t i = 0; i < N; ++i) {
        unsigned value = 0;
        auto [end, ec] = std::from_chars(text.data() + 2 * i, text.data() + 2 * i + 2, value, 16);
        if (ec != std::errc() || end != text.data() + 2 * i + 2) return false;
        out[i] = static_cast<std::uint8_t>(value);
    }
    return true;
}

bool fits_u32(std::int64_t t) { return t >= 0 && t <= 0xffffffffLL; }

// UTF-8 structure (lead bytes and continuation bytes); enough to keep a user ID printable by gpg and sq.
bool valid_utf8(std::string_view s)
{
    for (std::size_t i = 0; i < s.size();) {
        auto c = static_cast<std::uint8_t>(s[i]);
        std::size_t more = 0;
        if (c < 0x80) more = 0;
        else if (c >= 0xc2 && c <= 0xdf) more = 1;
        else if ((c & 0xf0) == 0xe0) more = 2;
        else if (c >= 0xf0 && c <= 0xf4) more = 3;
        else return false;
        if (s.size() - i <= more) return false;
        for (std::size_t k = 1; k <= more; ++k)
            if ((static_cast<std::uint8_t>(s[i + k]) & 0xc0) != 0x80) return false;
        i += more + 1;
    }
    return true;
}

Result<void> check_user_id(std::string_view user_id)
{
    if (user_id.empty() || user_id.size() > k_max_user_id)
        return fail(Errc::invalid_argument, "user ID: want 1 to {} bytes, got {}", k_max_user_id, user_id.size());
    for (char c : user_id)
        if (static_cast<std::uint8_t>(c) < 0x20 || c == 0x7f)
            return fail(Errc::invalid_argument, "user ID: holds a control character");
    if (!valid_utf8(user_id)) return fail(Errc::invalid_argument, "user ID: not UTF-8");
    return {};
}

Result<std::array<std::uint8_t, 64>> ed25519_sign(const std::array<std::uint8_t, 32>& seed,
                                                  std::span<const std::uint8_t> message)
{
    PkeyPtr key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
    std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
    std::array<std::uint8_t, 64> sig{};
    std::size_t len = sig.size();
    // Pure Ed25519 (no digest parameter): for EdDSALegacy what gets signed is the SHA-512 digest bytes.
    if (!key || !ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
        EVP_DigestSign(ctx.get(), sig.data(), &len, message.data(), message.size()) != 1 || len != sig.size())
        return fail(Errc::io, "sign: OpenSSL Ed25519 signing failed");
    return sig;
}

struct SignatureInput {
    std::uint8_t type;
    std::int64_t when;
    std::string_view signed_prefix; // what the signature covers before its own hashed part
    std::string extra_hashed;       // subpackets besides creation time and issuer fingerprint
};

// A v4 signature packet (RFC 4880 5.2.3, 5.2.4): hash prefix || version..hashed subpackets || 0x04 0xff
// len32 with SHA-512; Ed25519 over that digest; r and s (the signature's two 32-byte halves) as MPIs.
Result<std::string> signature_packet(const std::array<std::uint8_t, 32>& seed,
                                     const std::array<std::uint8_t, 20>& fingerprint, const SignatureInput& in)
{
    std::string time;
    put_u32(time, static_cast<std::uint64_t>(in.when));
    std::string issuer_fpr = std::string(1, '\x04') + std::string(as_chars(fingerprint));
    std::string hashed = subpacket(k_sub_creation_time, time) + in.extra_hashed +
                         subpacket(k_sub_issuer_fingerprint, issuer_fpr);
    std::string unhashed = subpacket(k_sub_issuer_key_id, as_chars(fingerprint).substr(12));

    std::string head{'\x04', static_cast<char>(in.type), static_cast<char>(k_algo_eddsa_legacy),
                     static_cast<char>(k_hash_sha512)};
    put_u16(head, hashed.size());
    head += hashed;
    std::string trailer{'\x04', '\xff'};
    put_u32(trailer, head.size());

    auto digest = digest_of<64>(EVP_sha512(), std::string(in.signed_prefix) + head + trailer);
    if (!digest) return fail(digest.error());
    auto sig = ed25519_sign(seed, *digest);
    if (!sig) return fail(sig.error());

    std::string body = head;
    put_u16(body, unhashed.size());
    body += unhashed;
    body += static_cast<char>((*digest)[0]);
    body += static_cast<char>((*digest)[1]);
    body += mpi(std::span(*sig).first<32>());
    body += mpi(std::span(*sig).last<32>());
    return packet(k_tag_signature, body);
}

// CRC-24 of RFC 4880 6.1, the armor checksum.
std::uint32_t crc24(std::string_view data)
{
    std::uint32_t crc = 0xB704CE;
    for (char c : data) {
        crc ^= static_cast<std::uint32_t>(static_cast<std::uint8_t>(c)) << 16;
        for (int i = 0; i < 8; ++i) {
            crc <<= 1;
            if (crc & 0x1000000) crc ^= 0x1864CFB;
        }
    }
    return crc & 0xFFFFFF;
}

std::string armor_signature(std::string_view packet_bytes)
{
    std::string b64 = base64_encode(packet_bytes);
    std::string out = "-----BEGIN PGP SIGNATURE-----\n\n";
    for (std::size_t i = 0; i < b64.size(); i += 64) out += b64.substr(i, 64) + "\n";
    std::uint32_t crc = crc24(packet_bytes);
    std::string crc_bytes{static_cast<char>(crc >> 16), static_cast<char>((crc >> 8) & 0xff),
                          static_cast<char>(crc & 0xff)};
    out += "=" + base64_encode(crc_bytes) + "\n";
    out += "-----END PGP SIGNATURE-----\n";
    return out;
}

// The text's lines as the cleartext framework signs them: split at "\n" (a "\r" before it belongs to the
// line ending), trailing spaces and tabs removed, the text's final newline not a line of its own.
Result<std::vector<std::string_view>> cleartext_lines(std::string_view text)
{
    std::vector<std::string_view> lines;
    if (text.ends_with('\n')) text.remove_suffix(1);
    for (std::size_t start = 0;;) {
        std::size_t end = text.find('\n', start);
        std::size_t len = end == std::string_view::npos ? std::string_view::npos : end - start;
        std::string_view line = text.substr(start, len);
        if (line.ends_with('\r')) line.remove_suffix(1);
        while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
        if (line.find('\r') != std::string_view::npos)
            return fail(Errc::invalid_argument, "clearsign: line {}: a carriage return inside the line",
                        lines.size() + 1);
        lines.push_back(line);
        if (end == std::string_view::npos) break;
        start = end + 1;
    }
    return lines;
}

// "name: value" at line `number` of the key file; corrupt if the line has another name.
Result<std::string_view> field(std::string_view line, std::string_view name, std::size_t number)
{
    if (!line.starts_with(name) || line.substr(name.size(), 2) != ": ")
        return fail(Errc::corrupt, "openpgp key file: line {}: want \"{}: ...\"", number, name);
    return line.substr(name.size() + 2);
}

} // namespace

SigningKey::~SigningKey() { OPENSSL_cleanse(m_seed.data(), m_seed.size()); }

Result<SigningKey> SigningKey::from_seed(const std::array<std::uint8_t, 32>& seed, std::int64_t created,
                                         std::string user_id)
{
    PkeyPtr key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
    std::array<std::uint8_t, 32> pub{};
    std::size_t len = pub.size();
    if (!key || EVP_PKEY_get_raw_public_key(key.get(), pub.data(), &len) != 1 || len != pub.size())
        return fail(Errc::io, "derive Ed25519 public key: OpenSSL failed");

    SigningKey k;
    k.m_seed = seed;
    k.m_created = created;
    k.m_user_id = std::move(user_id);

    // Public-key packet body (RFC 4880 5.5.2, RFC 9580 5.5.5.5): version, time, algorithm, curve OID,
    // and the point as an MPI: 0x40 (native compressed prefix) || the 32-byte key, 263 bits.
    std::string body{'\x04'};
    put_u32(body, static_cast<std::uint64_t>(created));
    body += static_cast<char>(k_algo_eddsa_legacy);
    body += static_cast<char>(k_ed25519_oid.size());
    body += k_ed25519_oid;
    std::array<std::uint8_t, 33> point{0x40};
    std::copy(pub.begin(), pub.end(), point.begin() + 1);
    body += mpi(point);
    k.m_public_packet = packet(k_tag_public_key, body);

    // v4 fingerprint (RFC 4880 12.2): SHA-1 of 0x99, the body's two-byte length, the body.
    std::string fpr_input{'\x99'};
    put_u16(fpr_input, body.size());
    auto fpr = digest_of<20>(EVP_sha1(), fpr_input + body);
    if (!fpr) return fail(fpr.error());
    k.m_fingerprint = *fpr;

    // The self-signature hashes the key as for the fingerprint, then 0xB4, the user ID's 4-byte length
    // and the user ID (RFC 4880 5.2.4).
    std::string prefix = fpr_input + body + '\xB4';
    put_u32(prefix, k.m_user_id.size());
    prefix += k.m_user_id;
    SignatureInput in{k_sig_positive_certification, created, prefix,
                      subpacket(k_sub_key_flags, std::string(1, static_cast<char>(k_key_flags_certify_sign)))};
    auto cert = signature_packet(k.m_seed, k.m_fingerprint, in);
    if (!cert) return fail(cert.error());
    k.m_certification = std::move(*cert);
    return k;
}

Result<SigningKey> SigningKey::generate(std::string user_id, std::int64_t created)
{
    TRY_VOID(check_user_id(user_id));
    if (!fits_u32(created))
        return fail(Errc::invalid_argument, "key creation time {}: want 0 to 4294967295 unix seconds", created);
    EVP_PKEY* raw = nullptr;
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr),
                                                                     &EVP_PKEY_CTX_free);
    if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &raw) != 1)
        return fail(Errc::io, "generate Ed25519 key: OpenSSL failed");
    PkeyPtr key(raw);
    std::array<std::uint8_t, 32> seed{};
    std::size_t len = seed.size();
    if (EVP_PKEY_get_raw_private_key(key.get(), seed.data(), &len) != 1 || len != seed.size())
        return fail(Errc::io, "generate Ed25519 key: OpenSSL gave no raw private key");
    auto k = from_seed(seed, created, std::move(user_id));
    OPENSSL_cleanse(seed.data(), seed.size());
    return k;
}

std::string SigningKey::serialize() const
{
    std::string seed_hex = hex(m_seed, k_hex_lower);
    std::string out = fmt::format("{}\ncreated: {}\nuser-id: {}\nfingerprint: {}\ned25519-seed: {}\n", k_file_magic,
                                  m_created, m_user_id, fingerprint_hex(), seed_hex);
    OPENSSL_cleanse(seed_hex.data(), seed_hex.size());
    return out;
}

Result<SigningKey> SigningKey::parse(std::string_view text)
{
    std::vector<std::string_view> lines;
    if (text.ends_with('\n')) text.remove_suffix(1);
    for (std::size_t start = 0; start <= text.size();) {
        std::size_t end = std::min(text.find('\n', start), text.size());
        lines.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    if (lines.empty() || lines[0] != k_file_magic) {
        std::string_view version = lines[0].starts_with(k_file_magic_prefix)
                                       ? lines[0].substr(k_file_magic_prefix.size())
                                       : std::string_view{};
        if (!version.empty() && version.find_first_not_of("0123456789") == std::string_view::npos)
            return fail(Errc::unsupported, "openpgp key file: format {}: this program reads format 1", version);
        return fail(Errc::corrupt, "openpgp key file: want first line \"{}\"", k_file_magic);
    }
    if (lines.size() != 5) return fail(Errc::corrupt, "openpgp key file: want 5 lines, got {}", lines.size());

    auto created_text = field(lines[1], "created", 2);
    if (!created_text) return fail(created_text.error());
    std::int64_t created = -1;
    auto [end, ec] = std::from_chars(created_text->data(), created_text->data() + created_text->size(), created);
    if (ec != std::errc() || end != created_text->data() + created_text->size() || !fits_u32(created))
        return fail(Errc::corrupt, "openpgp key file: created: want 0 to 4294967295, got \"{}\"", *created_text);

    auto user_id = field(lines[2], "user-id", 3);
    if (!user_id) return fail(user_id.error());
    if (auto ok = check_user_id(*user_id); !ok) return fail(Errc::corrupt, "openpgp key file: {}", ok.error().message);

    auto fpr_text = field(lines[3], "fingerprint", 4);
    if (!fpr_text) return fail(fpr_text.error());
    std::array<std::uint8_t, 20> fpr{};
    if (!parse_hex(*fpr_text, fpr)) return fail(Errc::corrupt, "openpgp key file: fingerprint: want 40 hex digits");

    // The seed is never echoed into a message.
    auto seed_text = field(lines[4], "ed25519-seed", 5);
    if (!seed_text) return fail(seed_text.error());
    std::array<std::uint8_t, 32> seed{};
    if (!parse_hex(*seed_text, seed)) return fail(Errc::corrupt, "openpgp key file: ed25519-seed: want 64 hex digits");

    auto key = from_seed(seed, created, std::string(*user_id));
    OPENSSL_cleanse(seed.data(), seed.size());
    if (!key) return fail(key.error().wrap("openpgp key file"));
    if (key->m_fingerprint != fpr)
        return fail(Errc::digest_mismatch, "openpgp key file: the seed gives fingerprint {}, the file says {}",
                    key->fingerprint_hex(), hex(fpr));
    return key;
}

std::string SigningKey::public_keyring() const
{
    return m_public_packet + packet(k_tag_user_id, m_user_id) + m_certification;
}

std::string SigningKey::fingerprint_hex() const { return hex(m_fingerprint); }

std::string SigningKey::key_id_hex() const { return hex(std::span(m_fingerprint).last<8>()); }

Result<std::string> SigningKey::clearsign(std::string_view text, std::int64_t when) const
{
    if (!fits_u32(when) || when < m_created)
        return fail(Errc::invalid_argument, "clearsign: signature time {}: want {} (the key's creation) to 4294967295",
                    when, m_created);
    auto lines = cleartext_lines(text);
    if (!lines) return fail(lines.error());

    // Signed: the lines joined by CRLF, the last without one. Shown: each line dash-escaped, then "\n".
    std::string canonical;
    std::string shown = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n";
    for (std::size_t i = 0; i < lines->size(); ++i) {
        std::string_view line = (*lines)[i];
        if (i > 0) canonical += "\r\n";
        canonical += line;
        if (line.starts_with('-')) shown += "- ";
        shown += line;
        shown += '\n';
    }
    auto sig = signature_packet(m_seed, m_fingerprint, SignatureInput{k_sig_text, when, canonical, {}});
    if (!sig) return fail(sig.error());
    return shown + armor_signature(*sig);
}

} // namespace common::pgp
