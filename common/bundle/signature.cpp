// SPDX-License-Identifier: Apache-2.0
#include <common/bundle/signature.hpp>

#include <common/io/file.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <utility>

namespace common::bundle {

namespace {

Result<std::array<std::uint8_t, 32>> raw_public(EVP_PKEY* key, const std::string& what)
{
    std::array<std::uint8_t, 32> pub{};
    std::size_t len = pub.size();
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_ED25519 || EVP_PKEY_get_raw_public_key(key, pub.data(), &len) != 1 ||
        len != pub.size())
        return fail(Errc::invalid_argument, "{}: not an Ed25519 key", what);
    return pub;
}

// Reads a PEM private key, or failing that a PEM public key.
Result<EVP_PKEY*> read_pem(const std::filesystem::path& path, bool want_private)
{
    auto text = io::read_file(path, 64 * 1024);
    if (!text) return fail(text.error());
    BIO* bio = BIO_new_mem_buf(text->data(), static_cast<int>(text->size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    if (!key && !want_private) {
        BIO_free(bio);
        bio = BIO_new_mem_buf(text->data(), static_cast<int>(text->size()));
        key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
    }
    BIO_free(bio);
    if (!key)
        return fail(Errc::invalid_argument, "{}: not a PEM {}key (make one with: openssl genpkey -algorithm ed25519)",
                    path.string(), want_private ? "private " : "");
    return key;
}

} // namespace

Result<SigningKey> SigningKey::load(const std::filesystem::path& pem)
{
    auto key = read_pem(pem, true);
    if (!key) return fail(key.error());
    auto pub = raw_public(*key, pem.string());
    if (!pub) {
        EVP_PKEY_free(*key);
        return fail(pub.error());
    }
    return SigningKey(*key, *pub);
}

SigningKey::~SigningKey()
{
    if (m_key) EVP_PKEY_free(static_cast<EVP_PKEY*>(m_key));
}

SigningKey::SigningKey(SigningKey&& other) noexcept : m_key(std::exchange(other.m_key, nullptr)), m_public(other.m_public) {}

Result<std::array<std::uint8_t, 64>> SigningKey::sign(std::span<const std::byte> message) const
{
    std::array<std::uint8_t, 64> sig{};
    std::size_t len = sig.size();
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    bool ok = EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, static_cast<EVP_PKEY*>(m_key)) == 1 &&
              EVP_DigestSign(ctx, sig.data(), &len, reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok || len != sig.size()) return fail(Errc::io, "Ed25519 signing failed");
    return sig;
}

Result<void> verify_signature(std::span<const std::uint8_t, 32> public_key, std::span<const std::byte> message,
                              std::span<const std::uint8_t, 64> signature)
{
    EVP_PKEY* key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, public_key.data(), public_key.size());
    if (!key) return fail(Errc::corrupt, "the signer's public key is not a valid Ed25519 key");
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    bool ok = EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key) == 1 &&
              EVP_DigestVerify(ctx, signature.data(), signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                               message.size()) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    if (!ok) return fail(Errc::digest_mismatch, "the Ed25519 signature does not verify");
    return {};
}

Result<digest::Digest> fingerprint_of_pem(const std::filesystem::path& pem)
{
    auto key = read_pem(pem, false);
    if (!key) return fail(key.error());
    auto pub = raw_public(*key, pem.string());
    EVP_PKEY_free(*key);
    if (!pub) return fail(pub.error());
    return digest::sha256_of(std::as_bytes(std::span(*pub)));
}

Result<digest::Digest> parse_signer(const std::string& spec)
{
    if (spec.starts_with("sha256:")) {
        auto d = digest::Digest::parse(spec);
        if (!d) return fail(Errc::invalid_argument, "--signer {}: {}", spec, d.error().message);
        return d;
    }
    auto d = fingerprint_of_pem(spec);
    if (!d) return fail(d.error().wrap("--signer"));
    return d;
}

} // namespace common::bundle
