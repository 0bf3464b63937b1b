// SPDX-License-Identifier: Apache-2.0
#include <common/bundle/trailer.hpp>

#include <algorithm>
#include <cstring>

namespace common::bundle {

namespace {
constexpr char k_magic[8] = {'P', 'L', 'T', 'B', 'N', 'D', 'L', '1'};
constexpr char k_end_magic[8] = {'P', 'L', 'T', 'E', 'N', 'D', '\n', '\0'};

template <class T>
void put_le(std::byte* p, T v)
{
    for (std::size_t i = 0; i < sizeof(T); ++i) p[i] = static_cast<std::byte>((v >> (8 * i)) & 0xff);
}

template <class T>
T get_le(const std::byte* p)
{
    T v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(std::to_integer<std::uint8_t>(p[i])) << (8 * i);
    return v;
}

void put_bytes(std::byte* p, std::span<const std::uint8_t> src) { std::memcpy(p, src.data(), src.size()); }
} // namespace

std::array<std::byte, k_trailer_size> Trailer::encode() const
{
    std::array<std::byte, k_trailer_size> out{};
    std::byte* p = out.data();
    std::memcpy(p, k_magic, 8);
    put_le<std::uint32_t>(p + 8, format_version);
    put_le<std::uint32_t>(p + 12, static_cast<std::uint32_t>(k_trailer_size));
    put_le<std::uint64_t>(p + 16, installer_size);
    put_le<std::uint64_t>(p + 24, payload_offset);
    put_le<std::uint64_t>(p + 32, payload_size);
    put_le<std::uint64_t>(p + 40, bundle_json_size);
    put_bytes(p + 48, installer_sha256.bytes);
    put_bytes(p + 80, payload_sha256.bytes);
    put_bytes(p + 112, bundle_json_sha256.bytes);
    put_le<std::uint32_t>(p + 144, flags);
    put_bytes(p + 152, signer_fingerprint);
    put_bytes(p + 184, signature);
    digest::Digest self = digest::sha256_of(std::span<const std::byte>(p, 248));
    put_bytes(p + 248, self.bytes);
    std::memcpy(p + 280, k_end_magic, 8);
    return out;
}

Result<Trailer> Trailer::decode(std::span<const std::byte, k_trailer_size> bytes, std::uint64_t file_size)
{
    const std::byte* p = bytes.data();
    if (std::memcmp(p + 280, k_end_magic, 8) != 0 || std::memcmp(p, k_magic, 8) != 0)
        return fail(Errc::corrupt, "no bundle trailer at the end of the file (truncated, or not a platform installer)");
    Trailer t;
    t.format_version = get_le<std::uint32_t>(p + 8);
    if (t.format_version != k_format_version)
        return fail(Errc::unsupported, "bundle format version {} is not supported by this program (it reads version {})",
                    t.format_version, k_format_version);
    if (get_le<std::uint32_t>(p + 12) != k_trailer_size)
        return fail(Errc::corrupt, "trailer size field is {}, want {}", get_le<std::uint32_t>(p + 12), k_trailer_size);
    digest::Digest self = digest::sha256_of(std::span<const std::byte>(p, 248));
    digest::Digest recorded;
    std::memcpy(recorded.bytes.data(), p + 248, 32);
    if (self != recorded)
        return fail(Errc::corrupt, "trailer is damaged: its sha256 is {}, the trailer records {}", self.str(), recorded.str());
    t.installer_size = get_le<std::uint64_t>(p + 16);
    t.payload_offset = get_le<std::uint64_t>(p + 24);
    t.payload_size = get_le<std::uint64_t>(p + 32);
    t.bundle_json_size = get_le<std::uint64_t>(p + 40);
    std::memcpy(t.installer_sha256.bytes.data(), p + 48, 32);
    std::memcpy(t.payload_sha256.bytes.data(), p + 80, 32);
    std::memcpy(t.bundle_json_sha256.bytes.data(), p + 112, 32);
    t.flags = get_le<std::uint32_t>(p + 144);
    // Only bit 0 (signed) is known; an unknown bit must not be ignored as if it had been honoured.
    if ((t.flags & ~k_known_flags) != 0)
        return fail(Errc::unsupported, "trailer flags 0x{:x} are not supported by this program", t.flags);
    bool unsigned_fields_zero = std::all_of(p + 152, p + 248, [](std::byte b) { return b == std::byte{0}; });
    if (!(t.flags & 1) && !unsigned_fields_zero)
        return fail(Errc::corrupt, "trailer is unsigned but its signer fingerprint or signature field is not zero");
    if (get_le<std::uint32_t>(p + 148) != 0) return fail(Errc::corrupt, "trailer reserved field is not zero");
    std::memcpy(t.signer_fingerprint.data(), p + 152, 32);
    std::memcpy(t.signature.data(), p + 184, 64);
    if (t.payload_offset != t.installer_size)
        return fail(Errc::corrupt, "trailer payload offset {} differs from installer size {}", t.payload_offset,
                    t.installer_size);
    // A crafted size must not wrap the sum below into agreement with the file size, nor send a reader
    // to hash gigabytes past the end of the file.
    if (file_size != 0 && t.installer_size > file_size)
        return fail(Errc::corrupt, "trailer installer size {} is larger than the file ({} bytes)", t.installer_size, file_size);
    if (file_size != 0 && t.payload_size > file_size)
        return fail(Errc::corrupt, "trailer payload size {} is larger than the file ({} bytes)", t.payload_size, file_size);
    std::uint64_t end = 0;
    if (__builtin_add_overflow(t.payload_offset, t.payload_size, &end) || __builtin_add_overflow(end, k_trailer_size, &end))
        return fail(Errc::corrupt, "trailer payload offset {} + payload size {} + {} overflows 64 bits", t.payload_offset,
                    t.payload_size, k_trailer_size);
    if (file_size != 0 && end != file_size)
        return fail(Errc::corrupt, "file is {} bytes but the trailer describes {} bytes (truncated or extended)", file_size, end);
    return t;
}

} // namespace common::bundle
