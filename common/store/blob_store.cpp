// SPDX-License-Identifier: Apache-2.0
#include <common/store/blob_store.hpp>

#include <cerrno>
#include <sys/mman.h>
#include <sys/stat.h>
#include <algorithm>
#include <unistd.h>

namespace common::store {

namespace fs = std::filesystem;

Result<void> check_blob(std::string_view what, const BlobRef& want, const digest::Digest& got, std::uint64_t got_size)
{
    return io::check_content(what, {want.digest, want.size}, got, got_size);
}

Ingest::Ingest(io::File file, std::optional<BlobRef> want, Verify verify, fs::path blobs_dir)
    : m_file(std::move(file)), m_want(want), m_verify(verify), m_blobs_dir(std::move(blobs_dir))
{
}

Ingest::~Ingest()
{
    if (!m_done && !m_file.path().empty()) ::unlink(m_file.path().c_str());
}

std::uint64_t Ingest::excess_bound() const { return std::max<std::uint64_t>(k_max_excess_hashed, m_want ? m_want->size : 0); }

// What was served went past the bound on hashing it: its digest is unknown.
Result<void> Ingest::fail_unhashed() const
{
    return fail(Errc::size_mismatch, "blob {}: size mismatch: got over {} bytes (sha256 unknown: over {} bytes past the "
                                     "expected size, not hashed), want {} bytes ({})",
                m_want->digest.str(), m_written + m_excess, excess_bound(), m_want->size, m_want->digest.str());
}

Result<void> Ingest::write(std::span<const std::byte> data)
{
    std::uint64_t room = m_want ? m_want->size - m_written : data.size();
    std::span<const std::byte> kept = data.first(static_cast<std::size_t>(std::min<std::uint64_t>(room, data.size())));
    std::size_t excess = data.size() - kept.size();
    if (excess > 0) {
        // More than the pin: never stored. Hashed (up to a bound) so that commit() can name what was served.
        if (m_verify == Verify::by_caller)
            return fail(Errc::size_mismatch, "blob {}: size mismatch: more than the expected {} bytes", m_want->digest.str(),
                        m_want->size);
        if (m_excess + excess > excess_bound()) {
            m_excess_unhashed = true;
            m_excess += excess;
            return fail_unhashed();
        }
    }
    if (!m_want || m_verify == Verify::by_store) TRY_VOID(m_hash.write(data));
    m_excess += excess;
    if (kept.empty()) return {};
    m_written += kept.size();
    return m_file.write(kept);
}

Result<void> Ingest::publish(const digest::Digest& d)
{
    TRY_VOID(m_file.sync());
    if (::fchmod(m_file.fd(), 0444) != 0) return fail_errno("chmod " + m_file.path(), errno);
    // rename() replaces atomically; a concurrent writer of the same digest wrote the same bytes. Renamed
    // before the close: until then our flock keeps cleaners (remove_stale_ingests) off the ingest file.
    fs::path final_path = m_blobs_dir / d.hex();
    if (::rename(m_file.path().c_str(), final_path.c_str()) != 0)
        return fail_errno(fmt::format("rename into {}", final_path.string()), errno);
    m_done = true;
    TRY_VOID(m_file.close());
    return io::sync_dir(m_blobs_dir);
}

Result<void> Ingest::commit()
{
    if (!m_want) return fail(Errc::failed_precondition, "commit of an ingest without an expected blob");
    std::string what = fmt::format("blob {}", m_want->digest.str());
    std::uint64_t got = m_written + m_excess;
    if (m_verify == Verify::by_caller) {
        if (got != m_want->size)
            return fail(Errc::size_mismatch, "{}: size mismatch: got {} bytes, want {} bytes ({})", what, got, m_want->size,
                        m_want->digest.str());
        return publish(m_want->digest);
    }
    if (m_excess_unhashed) return fail_unhashed();
    digest::Digest served = m_hash.finish();
    // A wrong size names both digests too: which file was served instead is often the question.
    if (got != m_want->size)
        return fail(Errc::size_mismatch, "{}: size mismatch: got {} bytes ({}), want {} bytes ({})", what, got, served.str(),
                    m_want->size, m_want->digest.str());
    TRY_VOID(check_blob(what, *m_want, served, got));
    return publish(m_want->digest);
}

Result<BlobRef> Ingest::commit_as_written()
{
    if (m_want) return fail(Errc::failed_precondition, "commit_as_written of an ingest with an expected blob");
    BlobRef got{m_hash.finish(), m_written};
    TRY_VOID(publish(got.digest));
    return got;
}

Result<BlobStore> BlobStore::open(const fs::path& root)
{
    TRY_VOID(io::make_dirs(root / "blobs" / "sha256"));
    TRY_VOID(io::make_dirs(root / "ingest"));
    return BlobStore(root);
}

fs::path BlobStore::blob_path(const digest::Digest& d) const { return m_root / "blobs" / "sha256" / d.hex(); }

bool BlobStore::contains(const BlobRef& ref) const
{
    struct stat st {};
    return ::stat(blob_path(ref.digest).c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
           static_cast<std::uint64_t>(st.st_size) == ref.size;
}

Result<Ingest> BlobStore::begin(const BlobRef& want, Verify verify) const
{
    auto file = io::File::create_temp((m_root / "ingest").string(), want.digest.hex().substr(0, 16) + ".");
    if (!file) return fail(file.error());
    return Ingest(std::move(*file), want, verify, m_root / "blobs" / "sha256");
}

Result<Ingest> BlobStore::begin_unknown() const
{
    auto file = io::File::create_temp((m_root / "ingest").string(), "unknown.");
    if (!file) return fail(file.error());
    return Ingest(std::move(*file), std::nullopt, Verify::by_store, m_root / "blobs" / "sha256");
}

Result<void> BlobStore::copy_out(const BlobRef& ref, io::File& dst) const
{
    std::string path = blob_path(ref.digest).string();
    auto src = io::File::open_read(path);
    if (!src) return fail(src.error());
    auto size = src->size();
    if (!size) return fail(size.error());
    std::string what = "stored blob " + path;
    if (*size != ref.size) return check_blob(what, ref, ref.digest, *size);
    digest::Sha256 hash;
    // Mapped a window at a time, so the mapping never holds more than one chunk of the blob resident.
    constexpr std::uint64_t k_chunk = 8u << 20;
    bool kernel_copy = true;
    for (std::uint64_t done = 0; done < *size;) {
        std::size_t n = static_cast<std::size_t>(std::min(k_chunk, *size - done));
        void* m = ::mmap(nullptr, n, PROT_READ, MAP_SHARED, src->fd(), static_cast<off_t>(done));
        if (m == MAP_FAILED) return fail_errno("mmap " + path, errno);
        const std::byte* map = static_cast<const std::byte*>(m);
        hash.update(std::span(map, n));
        std::size_t copied = 0;
        loff_t in_off = static_cast<loff_t>(done);
        while (kernel_copy && copied < n) {
            ssize_t r = ::copy_file_range(src->fd(), &in_off, dst.fd(), nullptr, n - copied, 0);
            if (r > 0) {
                copied += static_cast<std::size_t>(r);
                continue;
            }
            if (r < 0 && errno == EINTR) continue;
            if (r < 0 && errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP) {
                int err = errno;
                ::munmap(m, n);
                return fail_errno("copy " + path + " to " + dst.path(), err);
            }
            kernel_copy = false; // not supported here: write the rest from the mapping
        }
        auto written = copied < n ? dst.write(std::span(map + copied, n - copied)) : Result<void>{};
        ::munmap(m, n);
        if (!written) return fail(written.error());
        done += n;
    }
    return check_blob(what, ref, hash.finish(), *size);
}

Result<void> BlobStore::verify(const BlobRef& ref) const
{
    auto got = digest::sha256_file(blob_path(ref.digest).string());
    if (!got) return fail(got.error());
    return check_blob(fmt::format("stored blob {}", blob_path(ref.digest).string()), ref, got->digest, got->size);
}

Result<std::size_t> BlobStore::remove_stale_ingests() const
{
    std::error_code ec;
    std::size_t removed = 0;
    for (const auto& entry : fs::directory_iterator(m_root / "ingest", ec)) {
        auto gone = io::remove_if_abandoned(entry.path());
        if (!gone) return fail(gone.error().wrap("clean " + (m_root / "ingest").string()));
        if (*gone) ++removed;
    }
    if (ec) return fail(Errc::io, "clean {}: {}", (m_root / "ingest").string(), ec.message());
    return removed;
}

} // namespace common::store
