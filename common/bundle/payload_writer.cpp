// SPDX-License-Identifier: Apache-2.0
#include <common/bundle/payload_writer.hpp>

#include <archive.h>
#include <archive_entry.h>
#include <zstd.h>

#include <array>
#include <bit>
#include <cstring>
#include <optional>
#include <thread>
#include <vector>

namespace common::bundle {

namespace {

// XXH64 with seed 0: a zstd frame's content checksum is its low 32 bits (RFC 8878 3.1.1). libzstd keeps
// its copy private, so stored frames compute their own; libzstd checks it when it reads them back.
class Xxh64 {
public:
    void update(std::span<const std::byte> data)
    {
        m_total += data.size();
        if (m_buffered > 0) {
            std::size_t take = std::min(data.size(), m_buf.size() - m_buffered);
            std::memcpy(m_buf.data() + m_buffered, data.data(), take);
            m_buffered += take;
            data = data.subspan(take);
            if (m_buffered < m_buf.size()) return;
            stripe(m_buf.data());
            m_buffered = 0;
        }
        for (; data.size() >= 32; data = data.subspan(32)) stripe(data.data());
        std::memcpy(m_buf.data(), data.data(), data.size());
        m_buffered = data.size();
    }

    std::uint64_t digest() const
    {
        std::uint64_t h = k_p5;
        if (m_total >= 32) {
            h = std::rotl(m_v[0], 1) + std::rotl(m_v[1], 7) + std::rotl(m_v[2], 12) + std::rotl(m_v[3], 18);
            for (std::uint64_t v : m_v) h = (h ^ round(0, v)) * k_p1 + k_p4;
        }
        h += m_total;
        const std::byte* p = m_buf.data();
        std::size_t n = m_buffered;
        for (; n >= 8; p += 8, n -= 8) h = std::rotl(h ^ round(0, load<std::uint64_t>(p)), 27) * k_p1 + k_p4;
        if (n >= 4) {
            h = std::rotl(h ^ load<std::uint32_t>(p) * k_p1, 23) * k_p2 + k_p3;
            p += 4;
            n -= 4;
        }
        for (; n > 0; ++p, --n) h = std::rotl(h ^ std::to_integer<std::uint64_t>(*p) * k_p5, 11) * k_p1;
        h ^= h >> 33;
        h *= k_p2;
        h ^= h >> 29;
        h *= k_p3;
        return h ^ (h >> 32);
    }

private:
    static constexpr std::uint64_t k_p1 = 11400714785074694791ull, k_p2 = 14029467366897019727ull,
                                   k_p3 = 1609587929392839161ull, k_p4 = 9650029242287828579ull,
                                   k_p5 = 2870177450012600261ull;

    template <class T>
    static std::uint64_t load(const std::byte* p)
    {
        T v;
        std::memcpy(&v, p, sizeof v);
        if constexpr (std::endian::native == std::endian::big) v = std::byteswap(v);
        return v;
    }
    static std::uint64_t round(std::uint64_t acc, std::uint64_t input) { return std::rotl(acc + input * k_p2, 31) * k_p1; }
    void stripe(const std::byte* p)
    {
        for (std::size_t i = 0; i < m_v.size(); ++i) m_v[i] = round(m_v[i], load<std::uint64_t>(p + 8 * i));
    }

    std::array<std::uint64_t, 4> m_v{k_p1 + k_p2, k_p2, 0, 0 - k_p1};
    std::array<std::byte, 32> m_buf{};
    std::size_t m_buffered = 0;
    std::uint64_t m_total = 0;
};

void put_le(std::vector<std::byte>& out, std::uint64_t value, int bytes)
{
    for (int i = 0; i < bytes; ++i) out.push_back(static_cast<std::byte>(value >> (8 * i)));
}

// Fills `out` from `src` unless it ends first; returns the bytes read.
Result<std::size_t> read_full(io::Source& src, std::span<std::byte> out)
{
    std::size_t got = 0;
    while (got < out.size()) {
        auto n = src.read(out.subspan(got));
        if (!n) return fail(n.error());
        if (*n == 0) break;
        got += *n;
    }
    return got;
}

// Where an entry's data goes: the multi-threaded frame at `level` (with the tar headers), a frame of its
// own at `incompressible_level`, or a stored frame of its own.
enum class Route { stream, fast, stored };

constexpr std::size_t k_flush_size = 1 << 20; // stored blocks are written out in batches of about this size

} // namespace

struct PayloadWriter::Impl {
    io::Sink& out;
    PayloadWriterOptions options;
    archive* ar = nullptr;
    ZSTD_CCtx* cctx = nullptr;        // multi-threaded: headers, compressible entries, fast frames
    ZSTD_CCtx* sample_cctx = nullptr; // single-threaded, level 1: judges each entry's first bytes
    std::vector<std::byte> zbuf = std::vector<std::byte>(ZSTD_CStreamOutSize() * 4);
    std::vector<std::byte> buf = std::vector<std::byte>(1 << 20); // an entry's data on its way in
    std::optional<Error> sink_error;
    Route route = Route::stream;
    bool frame_open = false; // cctx has taken input since its last frame ended

    // The stored frame being written: blocks are cut at k_raw_block_size and the last one is the one that
    // completes the entry's declared size, so nothing waits for the end to be known.
    std::uint64_t stored_left = 0;
    std::size_t block_fill = 0;   // data bytes in the block at the end of sbuf
    std::size_t block_header = 0; // offset in sbuf of that block's 3-byte header
    Xxh64 xxh;
    std::vector<std::byte> sbuf;

    Impl(io::Sink& o, const PayloadWriterOptions& opts) : out(o), options(opts) {}
    ~Impl()
    {
        if (ar) archive_write_free(ar);
        if (cctx) ZSTD_freeCCtx(cctx);
        if (sample_cctx) ZSTD_freeCCtx(sample_cctx);
    }

    Result<void> compress(std::span<const std::byte> data, ZSTD_EndDirective mode)
    {
        ZSTD_inBuffer in{data.data(), data.size(), 0};
        for (;;) {
            ZSTD_outBuffer o{zbuf.data(), zbuf.size(), 0};
            std::size_t left = ZSTD_compressStream2(cctx, &o, &in, mode);
            if (ZSTD_isError(left)) return fail(Errc::io, "zstd: {}", ZSTD_getErrorName(left));
            if (o.pos > 0) TRY_VOID(out.write(std::span(zbuf.data(), o.pos)));
            bool done = mode == ZSTD_e_continue ? in.pos == in.size : left == 0;
            if (done) return {};
        }
    }

    // The stored frame header (RFC 8878 3.1.1): descriptor 0xC4 = 8-byte content size, not single
    // segment, content checksum; window 2^17 (descriptor 0x38), enough for 128 KiB raw blocks.
    void stored_begin(std::uint64_t size)
    {
        sbuf.clear();
        put_le(sbuf, ZSTD_MAGICNUMBER, 4);
        sbuf.push_back(std::byte{0xc4});
        sbuf.push_back(std::byte{0x38});
        put_le(sbuf, size, 8);
        stored_left = size;
        block_fill = 0;
        xxh = Xxh64{};
    }

    Result<void> stored_write(std::span<const std::byte> data)
    {
        if (data.size() > stored_left)
            return fail(Errc::failed_precondition, "payload: {} bytes past the end of a stored frame", data.size() - stored_left);
        xxh.update(data);
        while (!data.empty()) {
            if (block_fill == 0) {
                block_header = sbuf.size();
                sbuf.resize(sbuf.size() + 3);
            }
            std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(data.size(), k_raw_block_size - block_fill));
            sbuf.insert(sbuf.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(take));
            data = data.subspan(take);
            block_fill += take;
            stored_left -= take;
            if (block_fill < k_raw_block_size && stored_left > 0) continue;
            // Block header: bit 0 last block, bits 1-2 type 0 (raw), bits 3-23 size.
            std::uint32_t header = (stored_left == 0 ? 1u : 0u) | static_cast<std::uint32_t>(block_fill) << 3;
            for (int i = 0; i < 3; ++i) sbuf[block_header + i] = static_cast<std::byte>(header >> (8 * i));
            block_fill = 0;
            if (stored_left == 0) put_le(sbuf, xxh.digest() & 0xffffffffu, 4);
            if (sbuf.size() >= k_flush_size || stored_left == 0) {
                TRY_VOID(out.write(sbuf));
                sbuf.clear();
            }
        }
        return {};
    }

    // Ends the frame data is going to and starts the one `next` asks for; `size` is a stored frame's.
    Result<void> set_route(Route next, std::uint64_t size)
    {
        if (route == Route::stored && stored_left > 0)
            return fail(Errc::failed_precondition, "payload: stored frame ended {} bytes early", stored_left);
        if (route == next && next == Route::stream) return {};
        if (frame_open) TRY_VOID(compress({}, ZSTD_e_end));
        frame_open = false;
        if (route == Route::fast || next == Route::fast) {
            int level = next == Route::fast ? options.incompressible_level : options.level;
            std::size_t rc = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
            if (ZSTD_isError(rc)) return fail(Errc::io, "zstd: set level {}: {}", level, ZSTD_getErrorName(rc));
        }
        route = next;
        if (next == Route::stored) stored_begin(size);
        return {};
    }

    // stream unless the entry is large enough to judge and its first bytes do not compress.
    Result<Route> route_for(std::uint64_t size, std::span<const std::byte> sample)
    {
        if (options.incompressible == Incompressible::same_stream || size < k_sample_size) return Route::stream;
        std::vector<std::byte> scratch(ZSTD_compressBound(sample.size()));
        std::size_t n = ZSTD_compressCCtx(sample_cctx, scratch.data(), scratch.size(), sample.data(), sample.size(), 1);
        if (ZSTD_isError(n)) return fail(Errc::io, "zstd: {}", ZSTD_getErrorName(n));
        if (n + sample.size() / k_sample_gain_divisor <= sample.size()) return Route::stream;
        return options.incompressible == Incompressible::stored ? Route::stored : Route::fast;
    }

    static la_ssize_t on_write(archive*, void* self, const void* data, std::size_t len)
    {
        auto* impl = static_cast<Impl*>(self);
        std::span<const std::byte> bytes(static_cast<const std::byte*>(data), len);
        Result<void> r = impl->route == Route::stored ? impl->stored_write(bytes) : impl->compress(bytes, ZSTD_e_continue);
        impl->frame_open = impl->frame_open || impl->route != Route::stored;
        if (!r) {
            impl->sink_error = r.error();
            return -1;
        }
        return static_cast<la_ssize_t>(len);
    }

    Error archive_error(std::string_view what)
    {
        if (sink_error) return sink_error->wrap(what);
        return Error{Errc::io, fmt::format("{}: {}", what, archive_error_string(ar) ? archive_error_string(ar) : "libarchive error")};
    }
};

PayloadWriter::PayloadWriter(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
PayloadWriter::~PayloadWriter() = default;
PayloadWriter::PayloadWriter(PayloadWriter&&) noexcept = default;

Result<PayloadWriter> PayloadWriter::open(io::Sink& out, const PayloadWriterOptions& options)
{
    auto impl = std::make_unique<Impl>(out, options);
    impl->cctx = ZSTD_createCCtx();
    impl->sample_cctx = ZSTD_createCCtx();
    if (!impl->cctx || !impl->sample_cctx) return fail(Errc::io, "zstd: cannot create a compression context");
    unsigned threads = options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
    ZSTD_CCtx_setParameter(impl->cctx, ZSTD_c_compressionLevel, options.level);
    ZSTD_CCtx_setParameter(impl->cctx, ZSTD_c_checksumFlag, 1);
    // nbWorkers >= 1 always: the multi-threaded format does not depend on the worker count.
    if (ZSTD_isError(ZSTD_CCtx_setParameter(impl->cctx, ZSTD_c_nbWorkers, static_cast<int>(threads))))
        return fail(Errc::unsupported, "zstd: this libzstd has no multi-threading support");

    impl->ar = archive_write_new();
    archive_write_set_format_pax_restricted(impl->ar);
    archive_write_add_filter_none(impl->ar);
    // Unbuffered: each header and data write reaches on_write at once, so frames split at entry bounds.
    archive_write_set_bytes_per_block(impl->ar, 0);
    if (archive_write_open2(impl->ar, impl.get(), nullptr, &Impl::on_write, nullptr, nullptr) != ARCHIVE_OK)
        return fail(impl->archive_error("open payload"));
    return PayloadWriter(std::move(impl));
}

Result<void> PayloadWriter::add(const std::string& path, std::uint64_t size, io::Source& data)
{
    Impl& w = *m_impl;
    auto context = [&](const Error& e) { return fail(e.wrap("payload entry " + path)); };
    // 1. The first bytes choose the frame, read whole so the choice never depends on how `data` splits reads.
    auto head = read_full(data, std::span(w.buf).first(static_cast<std::size_t>(std::min(size, k_sample_size))));
    if (!head) return context(head.error());
    auto route = w.route_for(size, std::span(w.buf.data(), *head));
    if (!route) return context(route.error());

    // 2. The header (after the previous entry's padding) goes with the other headers.
    if (auto r = w.set_route(Route::stream, 0); !r) return context(r.error());
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, path.c_str());
    archive_entry_set_size(e, static_cast<la_int64_t>(size));
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_mtime(e, w.options.mtime, 0);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    int rc = archive_write_header(w.ar, e);
    archive_entry_free(e);
    if (rc != ARCHIVE_OK) return fail(w.archive_error("payload entry " + path));

    // 3. The data, in the frame the sample chose.
    if (auto r = w.set_route(*route, size); !r) return context(r.error());
    std::uint64_t done = 0;
    std::size_t n = *head;
    // Reads on until the source says it ended (a verifying source checks the digest then), even for an
    // empty entry.
    for (bool first = true; n > 0 || first; first = false) {
        if (n > 0) {
            if (archive_write_data(w.ar, w.buf.data(), n) != static_cast<la_ssize_t>(n))
                return fail(w.archive_error("payload entry " + path));
            done += n;
        }
        auto next = data.read(w.buf);
        if (!next) return context(next.error());
        n = *next;
        if (done + n > size) break;
    }
    if (done != size || n != 0)
        return fail(Errc::size_mismatch, "payload entry {}: source gave a different size than the expected {} bytes", path,
                    size);
    return {};
}

Result<void> PayloadWriter::finish()
{
    // The last entry's padding and the end-of-archive blocks go with the headers, in the last frame.
    TRY_VOID(m_impl->set_route(Route::stream, 0));
    if (archive_write_close(m_impl->ar) != ARCHIVE_OK) return fail(m_impl->archive_error("close payload"));
    m_impl->frame_open = false;
    return m_impl->compress({}, ZSTD_e_end);
}

} // namespace common::bundle
