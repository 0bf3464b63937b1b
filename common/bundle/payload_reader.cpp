// SPDX-License-Identifier: Apache-2.0
#include <common/bundle/payload_reader.hpp>

#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace common::bundle {

namespace {

constexpr std::size_t k_block = 512;

bool is_hex64(std::string_view s)
{
    return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string field(const std::byte* p, std::size_t len)
{
    const char* c = reinterpret_cast<const char*>(p);
    return std::string(c, strnlen(c, len));
}

// Parses an octal (or GNU base-256) numeric tar field.
Result<std::uint64_t> number(const std::byte* p, std::size_t len, std::string_view what)
{
    auto u = [&](std::size_t i) { return std::to_integer<std::uint8_t>(p[i]); };
    if (u(0) & 0x80) {
        // GNU base-256: big-endian two's complement in the bits after the marker bit; negative is invalid.
        if (u(0) & 0x40) return fail(Errc::corrupt, "tar header: {} is negative", what);
        std::uint64_t v = u(0) & 0x3f;
        for (std::size_t i = 1; i < len; ++i) {
            if (v >> 56) return fail(Errc::corrupt, "tar header: {} overflows", what);
            v = v << 8 | u(i);
        }
        return v;
    }
    std::uint64_t v = 0;
    std::size_t i = 0;
    while (i < len && u(i) == ' ') ++i;
    bool any = false;
    for (; i < len && u(i) >= '0' && u(i) <= '7'; ++i) {
        v = v * 8 + (u(i) - '0');
        any = true;
    }
    for (; i < len; ++i)
        if (u(i) != ' ' && u(i) != 0) return fail(Errc::corrupt, "tar header: {} is not an octal number", what);
    if (!any) return fail(Errc::corrupt, "tar header: {} is empty", what);
    return v;
}

std::string_view type_name(char t)
{
    switch (t) {
    case '1': return "hard link";
    case '2': return "symbolic link";
    case '3': return "character device";
    case '4': return "block device";
    case '5': return "directory";
    case '6': return "fifo";
    case 'g': return "global pax header";
    case 'L':
    case 'K': return "GNU long name";
    default: return "unknown type";
    }
}

} // namespace

Result<void> check_entry_path(std::string_view path)
{
    if (path.starts_with('/')) return fail(Errc::corrupt, "payload entry '{}': absolute path not allowed", path);
    for (std::size_t start = 0; start <= path.size();) {
        std::size_t end = std::min(path.find('/', start), path.size());
        if (path.substr(start, end - start) == "..")
            return fail(Errc::corrupt, "payload entry '{}': '..' not allowed", path);
        start = end + 1;
    }
    if (path == "bundle.json") return {};
    if (path.starts_with("blobs/sha256/") && is_hex64(path.substr(13))) return {};
    return fail(Errc::corrupt, "payload entry '{}': not a bundle path (want bundle.json or blobs/sha256/<hex>)", path);
}

Result<PaxOverrides> parse_pax(std::string_view data, PaxOverrides pax)
{
    while (!data.empty()) {
        std::size_t sp = data.find(' ');
        if (sp == std::string_view::npos) return fail(Errc::corrupt, "pax header: malformed record");
        std::string_view digits = data.substr(0, sp);
        // A record cannot be longer than the data: stop there, before a long digit string wraps size_t.
        std::size_t len = 0;
        for (char c : digits) {
            if (c < '0' || c > '9') return fail(Errc::corrupt, "pax header: malformed record length '{}'", digits);
            if (len > data.size()) break;
            len = len * 10 + static_cast<std::size_t>(c - '0');
        }
        if (digits.empty() || len <= sp + 1 || len > data.size() || data[len - 1] != '\n')
            return fail(Errc::corrupt, "pax header: record length {} is out of range", digits);
        std::string_view kv = data.substr(sp + 1, len - sp - 2);
        std::size_t eq = kv.find('=');
        if (eq == std::string_view::npos) return fail(Errc::corrupt, "pax header: record without '='");
        std::string_view key = kv.substr(0, eq), value = kv.substr(eq + 1);
        if (key == "path") pax.path = std::string(value);
        if (key == "size") {
            if (value.empty()) return fail(Errc::corrupt, "pax header: size is empty");
            std::uint64_t v = 0;
            for (char c : value) {
                if (c < '0' || c > '9') return fail(Errc::corrupt, "pax header: size '{}' is not a decimal number", value);
                if (__builtin_mul_overflow(v, 10u, &v) || __builtin_add_overflow(v, static_cast<unsigned>(c - '0'), &v))
                    return fail(Errc::corrupt, "pax header: size {} does not fit in 64 bits", value);
            }
            pax.size = v;
        }
        data.remove_prefix(len);
    }
    return pax;
}

struct PayloadReader::Impl {
    const io::File& file;
    std::uint64_t offset;
    std::uint64_t size;
    Progress progress;

    std::uint64_t consumed = 0; // compressed bytes read from the file
    digest::Sha256 hash;
    ZSTD_DCtx* dctx = ZSTD_createDCtx();
    std::vector<std::byte> in_buf = std::vector<std::byte>(ZSTD_DStreamInSize() * 8);
    ZSTD_inBuffer in{in_buf.data(), 0, 0};
    std::vector<std::byte> out_buf = std::vector<std::byte>(ZSTD_DStreamOutSize() * 8);
    std::size_t out_pos = 0, out_len = 0;
    std::size_t frame_hint = 1; // non-zero while inside a zstd frame
    bool entry_open = false;
    std::uint64_t entry_left = 0, entry_pad = 0;
    std::uint64_t entries = 0;
    bool ended = false;

    Impl(const io::File& f, std::uint64_t off, std::uint64_t sz, Progress p)
        : file(f), offset(off), size(sz), progress(std::move(p))
    {
    }
    ~Impl() { ZSTD_freeDCtx(dctx); }

    // Produces decompressed bytes; 0 only at the end of the compressed payload.
    Result<std::size_t> raw(std::span<std::byte> out)
    {
        while (out_pos == out_len) {
            if (in.pos == in.size && consumed < size) {
                std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(size - consumed, in_buf.size()));
                TRY_VOID(file.pread_exact(std::span(in_buf.data(), n), offset + consumed));
                hash.update(std::span(in_buf.data(), n));
                consumed += n;
                in = {in_buf.data(), n, 0};
                if (progress) progress(consumed, size);
            }
            bool input_done = in.pos == in.size && consumed == size;
            if (input_done && frame_hint == 0) return 0;
            ZSTD_outBuffer o{out_buf.data(), out_buf.size(), 0};
            std::size_t rc = ZSTD_decompressStream(dctx, &o, &in);
            if (ZSTD_isError(rc))
                return fail(Errc::corrupt, "payload: zstd: {} near compressed byte {}", ZSTD_getErrorName(rc), consumed);
            frame_hint = rc;
            out_pos = 0;
            out_len = o.pos;
            if (o.pos == 0 && input_done && frame_hint != 0)
                return fail(Errc::corrupt, "payload ends inside a zstd frame (truncated)");
        }
        std::size_t n = std::min(out.size(), out_len - out_pos);
        std::memcpy(out.data(), out_buf.data() + out_pos, n);
        out_pos += n;
        return n;
    }

    Result<void> raw_exact(std::span<std::byte> out, std::string_view what)
    {
        while (!out.empty()) {
            auto n = raw(out);
            if (!n) return fail(n.error());
            if (*n == 0) return fail(Errc::corrupt, "payload ends inside {} (truncated)", what);
            out = out.subspan(*n);
        }
        return {};
    }

    Result<void> discard(std::uint64_t n, std::string_view what)
    {
        std::array<std::byte, 4096> buf;
        while (n > 0) {
            std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(n, buf.size()));
            TRY_VOID(raw_exact(std::span(buf.data(), k), what));
            n -= k;
        }
        return {};
    }

    Result<std::optional<PayloadEntry>> next()
    {
        if (ended) return std::optional<PayloadEntry>{};
        if (entry_open) TRY_VOID(discard(entry_left + entry_pad, "an entry"));
        entry_open = false;
        PaxOverrides pax;
        std::size_t pax_headers = 0;
        for (;;) {
            std::array<std::byte, k_block> h;
            TRY_VOID(raw_exact(h, "a tar header"));
            if (std::all_of(h.begin(), h.end(), [](std::byte b) { return b == std::byte{0}; })) {
                if (pax_headers > 0) return fail(Errc::corrupt, "payload: pax header without an entry");
                ended = true;
                if (entries == 0) return fail(Errc::corrupt, "payload is an empty archive");
                return std::optional<PayloadEntry>{};
            }
            auto sum = number(h.data() + 148, 8, "checksum");
            if (!sum) return fail(sum.error());
            std::uint64_t got = 0;
            for (std::size_t i = 0; i < k_block; ++i)
                got += (i >= 148 && i < 156) ? ' ' : std::to_integer<std::uint8_t>(h[i]);
            if (got != *sum) return fail(Errc::corrupt, "payload: tar header checksum mismatch after entry {}", entries);
            std::string name = field(h.data(), 100);
            if (std::memcmp(h.data() + 257, "ustar\0" "00", 8) != 0)
                return fail(Errc::corrupt, "payload entry '{}': tar header is not POSIX ustar", name);
            std::string prefix = field(h.data() + 345, 155);
            std::string path = prefix.empty() ? name : prefix + "/" + name;
            auto size_field = number(h.data() + 124, 12, "size");
            if (!size_field) return fail(size_field.error());
            char type = static_cast<char>(h[156]);
            if (type == 'x') {
                // Each costs up to 1 MiB of reading and parsing: bound how many one entry may have.
                if (++pax_headers > k_max_pax_headers)
                    return fail(Errc::corrupt, "payload: more than {} pax headers before entry {}", k_max_pax_headers,
                                entries + 1);
                if (*size_field > (1u << 20)) return fail(Errc::corrupt, "payload: pax header too large");
                std::string data(*size_field, '\0');
                TRY_VOID(raw_exact(std::as_writable_bytes(std::span(data.data(), data.size())), "a pax header"));
                TRY_VOID(discard((k_block - *size_field % k_block) % k_block, "a pax header"));
                auto parsed = parse_pax(data, std::move(pax));
                if (!parsed) return fail(parsed.error());
                pax = std::move(*parsed);
                continue;
            }
            if (pax.path) path = *pax.path;
            if (type != '0' && type != '\0')
                return fail(Errc::corrupt, "payload entry '{}': {} not allowed", path, type_name(type));
            TRY_VOID(check_entry_path(path));
            if (entries == 0 && path != "bundle.json")
                return fail(Errc::corrupt, "payload entry '{}': bundle.json must come first", path);
            if (entries > 0 && path == "bundle.json") return fail(Errc::corrupt, "payload: bundle.json appears twice");
            std::uint64_t sz = pax.size.value_or(*size_field);
            ++entries;
            entry_open = true;
            entry_left = sz;
            entry_pad = (k_block - sz % k_block) % k_block;
            return PayloadEntry{path, sz};
        }
    }

    Result<std::size_t> read(std::span<std::byte> out)
    {
        if (!entry_open || entry_left == 0) return 0;
        std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), entry_left));
        TRY_VOID(raw_exact(out.first(want), "an entry"));
        entry_left -= want;
        return want;
    }

    Result<digest::Digest> finish()
    {
        if (!ended) return fail(Errc::failed_precondition, "payload: finish() before the end of the archive");
        // Zero padding is bounded: a tiny zstd stream may otherwise expand to gigabytes of zeros.
        std::array<std::byte, 4096> buf;
        std::uint64_t padding = 0;
        for (;;) {
            auto n = raw(buf);
            if (!n) return fail(n.error());
            if (*n == 0) break;
            if (!std::all_of(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n), [](std::byte b) { return b == std::byte{0}; }))
                return fail(Errc::corrupt, "payload: data after the end of the archive");
            padding += *n;
            if (padding > k_max_end_padding)
                return fail(Errc::corrupt, "payload: more than {} bytes of zero padding after the end-of-archive block",
                            k_max_end_padding);
        }
        return hash.finish();
    }
};

PayloadReader::PayloadReader(const io::File& file, std::uint64_t offset, std::uint64_t size, Progress progress)
    : m_impl(std::make_unique<Impl>(file, offset, size, std::move(progress)))
{
}
PayloadReader::~PayloadReader() = default;
PayloadReader::PayloadReader(PayloadReader&&) noexcept = default;

Result<std::optional<PayloadEntry>> PayloadReader::next() { return m_impl->next(); }
Result<std::size_t> PayloadReader::read(std::span<std::byte> out) { return m_impl->read(out); }
Result<digest::Digest> PayloadReader::finish() { return m_impl->finish(); }

} // namespace common::bundle
