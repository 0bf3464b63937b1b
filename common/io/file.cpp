// SPDX-License-Identifier: Apache-2.0
#include <common/io/file.hpp>
#include <common/io/string_stream.hpp>

#include <common/util/failpoint.hpp>

#include <cerrno>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <vector>

namespace common::io {

Result<std::uint64_t> copy(Source& src, Sink& dst)
{
    std::vector<std::byte> buf(1 << 20);
    std::uint64_t total = 0;
    for (;;) {
        auto n = src.read(buf);
        if (!n) return fail(n.error());
        if (*n == 0) return total;
        TRY_VOID(dst.write(std::span(buf.data(), *n)));
        total += *n;
    }
}

namespace {
// flock() on a filesystem that has no locks (some FUSE ones).
bool locks_unsupported(int err) { return err == ENOLCK || err == EOPNOTSUPP || err == ENOSYS || err == EINVAL; }
} // namespace

File::~File()
{
    if (m_fd >= 0) ::close(m_fd);
}

File::File(File&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)), m_path(std::move(other.m_path)) {}

File& File::operator=(File&& other) noexcept
{
    if (this != &other) {
        if (m_fd >= 0) ::close(m_fd);
        m_fd = std::exchange(other.m_fd, -1);
        m_path = std::move(other.m_path);
    }
    return *this;
}

Result<File> File::open_read(const std::string& path)
{
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail_errno(fmt::format("open {}", path), errno);
    return File(fd, path);
}

Result<File> File::create(const std::string& path, unsigned mode)
{
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) return fail_errno(fmt::format("create {}", path), errno);
    return File(fd, path);
}

Result<File> File::create_temp(const std::string& dir, std::string_view prefix)
{
    for (int attempt = 0; attempt < 16; ++attempt) {
        std::string templ = fmt::format("{}/{}XXXXXX", dir, prefix);
        int fd = ::mkostemp(templ.data(), O_CLOEXEC);
        if (fd < 0) return fail_errno(fmt::format("create temporary file in {}", dir), errno);
        File file(fd, templ);
        // The writer's flock marks the file as in use; the kernel drops it when the writer dies.
        int rc = 0;
        while ((rc = ::flock(fd, LOCK_EX)) != 0 && errno == EINTR) {
        }
        if (rc != 0) {
            if (locks_unsupported(errno)) return file; // cleaners cannot lock it either, so they keep it
            int err = errno;
            ::unlink(templ.c_str());
            return fail_errno(fmt::format("lock {}", templ), err);
        }
        // A cleaner may have taken it for abandoned between mkostemp and flock: then it is gone; again.
        struct stat st {};
        if (::fstat(fd, &st) != 0) return fail_errno(fmt::format("stat {}", templ), errno);
        if (st.st_nlink > 0) return file;
    }
    return fail(Errc::io, "create temporary file in {}: removed by a cleaner each time", dir);
}

Result<std::size_t> File::read(std::span<std::byte> out)
{
    for (;;) {
        ssize_t n = ::read(m_fd, out.data(), out.size());
        if (n >= 0) return static_cast<std::size_t>(n);
        if (errno != EINTR) return fail_errno(fmt::format("read {}", m_path), errno);
    }
}

Result<void> File::write(std::span<const std::byte> data)
{
    while (!data.empty()) {
        ssize_t n = ::write(m_fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail_errno(fmt::format("write {}", m_path), errno);
        }
        data = data.subspan(static_cast<std::size_t>(n));
    }
    return {};
}

Result<void> File::pread_exact(std::span<std::byte> out, std::uint64_t offset) const
{
    while (!out.empty()) {
        ssize_t n = ::pread(m_fd, out.data(), out.size(), static_cast<off_t>(offset));
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail_errno(fmt::format("read {}", m_path), errno);
        }
        if (n == 0) return fail(Errc::corrupt, "read {}: file ends early at byte {}", m_path, offset);
        out = out.subspan(static_cast<std::size_t>(n));
        offset += static_cast<std::uint64_t>(n);
    }
    return {};
}

Result<std::uint64_t> File::size() const
{
    struct stat st {};
    if (::fstat(m_fd, &st) != 0) return fail_errno(fmt::format("stat {}", m_path), errno);
    return static_cast<std::uint64_t>(st.st_size);
}

Result<void> File::sync()
{
    if (::fsync(m_fd) != 0) return fail_errno(fmt::format("fsync {}", m_path), errno);
    return {};
}

Result<void> File::close()
{
    if (m_fd < 0) return {};
    int fd = std::exchange(m_fd, -1);
    if (::close(fd) != 0) return fail_errno(fmt::format("close {}", m_path), errno);
    return {};
}

Result<File> create_temp_beside(const std::filesystem::path& target)
{
    std::filesystem::path dir = target.parent_path().empty() ? "." : target.parent_path();
    return File::create_temp(dir.string(), "." + target.filename().string() + ".tmp-");
}

Result<bool> remove_if_abandoned(const std::filesystem::path& file)
{
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT || errno == EACCES || errno == ELOOP) return false; // gone, or not ours to judge
        return fail_errno(fmt::format("open {}", file.string()), errno);
    }
    File guard(fd, file.string()); // closing it drops our lock
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK || errno == EINTR || locks_unsupported(errno)) return false; // alive, or we cannot tell
        return fail_errno(fmt::format("lock {}", file.string()), errno);
    }
    // Still the file we locked (not renamed away by a writer that finished in between)?
    struct stat mine {}, now {};
    if (::fstat(fd, &mine) != 0) return fail_errno(fmt::format("stat {}", file.string()), errno);
    if (::lstat(file.c_str(), &now) != 0 || mine.st_dev != now.st_dev || mine.st_ino != now.st_ino) return false;
    if (::unlink(file.c_str()) != 0) {
        if (errno == ENOENT) return false;
        return fail_errno(fmt::format("remove {}", file.string()), errno);
    }
    return true;
}

Result<std::size_t> remove_stale_temps(const std::filesystem::path& target)
{
    std::filesystem::path dir = target.parent_path().empty() ? "." : target.parent_path();
    std::string prefix = "." + target.filename().string() + ".tmp-";
    std::error_code ec;
    std::size_t removed = 0;
    if (!std::filesystem::is_directory(dir, ec)) return removed;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        std::string name = entry.path().filename().string();
        if (name.size() != prefix.size() + 6 || !name.starts_with(prefix)) continue;
        auto gone = remove_if_abandoned(entry.path());
        if (!gone) return fail(gone.error().wrap("clean temporary files of " + target.string()));
        if (*gone) ++removed;
    }
    if (ec) return fail(Errc::io, "clean temporary files of {}: {}", target.string(), ec.message());
    return removed;
}

Result<void> sync_dir(const std::filesystem::path& dir)
{
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return fail_errno(fmt::format("open {}", dir.string()), errno);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return fail_errno(fmt::format("fsync {}", dir.string()), err);
    return {};
}

Result<void> write_file_atomic(const std::filesystem::path& path, std::string_view content, unsigned mode)
{
    std::filesystem::path dir = path.parent_path().empty() ? "." : path.parent_path();
    auto file = create_temp_beside(path);
    if (!file) return fail(file.error());
    std::string temp = file->path();
    auto undo = [&](Error e) {
        ::unlink(temp.c_str());
        return fail(std::move(e));
    };
    if (auto r = file->write(std::as_bytes(std::span(content.data(), content.size()))); !r) return undo(r.error());
    if (::fchmod(file->fd(), mode) != 0) return undo(fail_errno("chmod " + temp, errno).error());
    if (auto r = file->sync(); !r) return undo(r.error());
    common::failpoint("io.temp_written");
    // Renamed while still open: our flock guards the temp name until it is gone (see create_temp).
    if (::rename(temp.c_str(), path.c_str()) != 0) return undo(fail_errno("rename to " + path.string(), errno).error());
    TRY_VOID(file->close());
    return sync_dir(dir);
}

Result<std::string> read_file(const std::filesystem::path& path, std::uint64_t max_bytes)
{
    auto file = File::open_read(path.string());
    if (!file) return fail(file.error());
    // Read to the end rather than trusting st_size: /proc files report 0.
    StringSink text(max_bytes, "read " + path.string());
    TRY_VOID(copy(*file, text));
    return text.take();
}

Result<void> make_dirs(const std::filesystem::path& dir)
{
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return fail(Errc::io, "create directory {}: {}", dir.string(), ec.message());
    return {};
}

} // namespace common::io
