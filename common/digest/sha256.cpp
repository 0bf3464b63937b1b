// SPDX-License-Identifier: Apache-2.0
#include <common/digest/sha256.hpp>

#include <common/io/file.hpp>

#include <openssl/evp.h>

#include <vector>

namespace common::digest {

namespace {
constexpr char k_hex[] = "0123456789abcdef";

int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}
} // namespace

std::string Digest::hex() const
{
    std::string out(64, '0');
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        out[2 * i] = k_hex[bytes[i] >> 4];
        out[2 * i + 1] = k_hex[bytes[i] & 0xf];
    }
    return out;
}

Result<Digest> Digest::from_hex(std::string_view hex)
{
    if (hex.size() != 64) return fail(Errc::invalid_argument, "invalid sha256 '{}': want 64 hex digits", hex);
    Digest d;
    for (std::size_t i = 0; i < 32; ++i) {
        int hi = hex_value(hex[2 * i]);
        int lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return fail(Errc::invalid_argument, "invalid sha256 '{}': want lowercase hex", hex);
        d.bytes[i] = static_cast<std::uint8_t>(hi << 4 | lo);
    }
    return d;
}

Result<Digest> Digest::parse(std::string_view text)
{
    if (text.starts_with("sha256:")) text.remove_prefix(7);
    return from_hex(text);
}

struct Sha256::Impl {
    EVP_MD_CTX* ctx = nullptr;
};

Sha256::Sha256() : m_impl(std::make_unique<Impl>())
{
    m_impl->ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(m_impl->ctx, EVP_sha256(), nullptr);
}

Sha256::~Sha256()
{
    if (m_impl) EVP_MD_CTX_free(m_impl->ctx);
}

Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(std::span<const std::byte> data)
{
    EVP_DigestUpdate(m_impl->ctx, data.data(), data.size());
}

Digest Sha256::finish()
{
    Digest d;
    unsigned int len = 0;
    EVP_DigestFinal_ex(m_impl->ctx, d.bytes.data(), &len);
    return d;
}

Digest sha256_of(std::span<const std::byte> data)
{
    Sha256 h;
    h.update(data);
    return h.finish();
}

Result<FileDigest> sha256_file(const std::string& path)
{
    auto file = io::File::open_read(path);
    if (!file) return fail(file.error());
    Sha256 h;
    std::vector<std::byte> buf(1 << 20);
    std::uint64_t total = 0;
    for (;;) {
        auto n = file->read(buf);
        if (!n) return fail(n.error());
        if (*n == 0) break;
        h.update(std::span(buf.data(), *n));
        total += *n;
    }
    return FileDigest{h.finish(), total};
}

} // namespace common::digest
