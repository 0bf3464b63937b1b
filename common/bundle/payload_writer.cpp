// SPDX-License-Identifier: Apache-2.0
#include <common/bundle/payload_writer.hpp>

#include <archive.h>
#include <archive_entry.h>
#include <zstd.h>

#include <optional>
#include <thread>
#include <vector>

namespace common::bundle {

struct PayloadWriter::Impl {
    io::Sink& out;
    PayloadWriterOptions options;
    archive* ar = nullptr;
    ZSTD_CCtx* cctx = nullptr;
    std::vector<std::byte> zbuf = std::vector<std::byte>(ZSTD_CStreamOutSize() * 4);
    std::optional<Error> sink_error;

    Impl(io::Sink& o, const PayloadWriterOptions& opts) : out(o), options(opts) {}
    ~Impl()
    {
        if (ar) archive_write_free(ar);
        if (cctx) ZSTD_freeCCtx(cctx);
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

    static la_ssize_t on_write(archive*, void* self, const void* buf, std::size_t len)
    {
        auto* impl = static_cast<Impl*>(self);
        auto r = impl->compress(std::span(static_cast<const std::byte*>(buf), len), ZSTD_e_continue);
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
    unsigned threads = options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
    ZSTD_CCtx_setParameter(impl->cctx, ZSTD_c_compressionLevel, options.level);
    ZSTD_CCtx_setParameter(impl->cctx, ZSTD_c_checksumFlag, 1);
    // Fixed jobs of 2 MiB rather than libzstd's 4 windows (8 MiB at level 3): peak memory 77 -> 40 MiB for a
    // payload 0.15% larger (docs/bundle-format.md 3.1). Fixed, so the bytes still do not depend on the workers.
    ZSTD_CCtx_setParameter(impl->cctx, ZSTD_c_jobSize, k_zstd_job_size);
    // nbWorkers >= 1 always: the multi-threaded format does not depend on the worker count.
    if (ZSTD_isError(ZSTD_CCtx_setParameter(impl->cctx, ZSTD_c_nbWorkers, static_cast<int>(threads))))
        return fail(Errc::unsupported, "zstd: this libzstd has no multi-threading support");

    impl->ar = archive_write_new();
    archive_write_set_format_pax_restricted(impl->ar);
    archive_write_add_filter_none(impl->ar);
    archive_write_set_bytes_per_block(impl->ar, 0);
    if (archive_write_open2(impl->ar, impl.get(), nullptr, &Impl::on_write, nullptr, nullptr) != ARCHIVE_OK)
        return fail(impl->archive_error("open payload"));
    return PayloadWriter(std::move(impl));
}

Result<void> PayloadWriter::add(const std::string& path, std::uint64_t size, io::Source& data)
{
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, path.c_str());
    archive_entry_set_size(e, static_cast<la_int64_t>(size));
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_mtime(e, m_impl->options.mtime, 0);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    int rc = archive_write_header(m_impl->ar, e);
    archive_entry_free(e);
    if (rc != ARCHIVE_OK) return fail(m_impl->archive_error("payload entry " + path));

    std::vector<std::byte> buf(1 << 20);
    std::uint64_t done = 0;
    for (;;) {
        auto n = data.read(buf);
        if (!n) return fail(n.error().wrap("payload entry " + path));
        if (*n == 0) break;
        if (done + *n > size) break;
        if (archive_write_data(m_impl->ar, buf.data(), *n) != static_cast<la_ssize_t>(*n))
            return fail(m_impl->archive_error("payload entry " + path));
        done += *n;
    }
    if (done != size)
        return fail(Errc::size_mismatch, "payload entry {}: source gave a different size than the expected {} bytes", path,
                    size);
    return {};
}

Result<void> PayloadWriter::finish()
{
    if (archive_write_close(m_impl->ar) != ARCHIVE_OK) return fail(m_impl->archive_error("close payload"));
    return m_impl->compress({}, ZSTD_e_end);
}

} // namespace common::bundle
