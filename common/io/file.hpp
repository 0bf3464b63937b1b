// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include <common/io/stream.hpp>

namespace common::io {

// Owning file descriptor with error-returning I/O. Not copyable.
class File : public Source, public Sink {
public:
    File() = default;
    explicit File(int fd, std::string path) : m_fd(fd), m_path(std::move(path)) {}
    ~File() override;
    File(File&& other) noexcept;
    File& operator=(File&& other) noexcept;

    static Result<File> open_read(const std::string& path);
    // Creates a new file (O_EXCL) with the given mode.
    static Result<File> create(const std::string& path, unsigned mode = 0644);
    // Creates a uniquely named file in dir ("<prefix>XXXXXX"), holding an exclusive flock on it for as
    // long as it is open: cleaners (remove_if_abandoned) take a locked file for one being written.
    // Writers that publish it by rename() rename before they close.
    static Result<File> create_temp(const std::string& dir, std::string_view prefix);

    Result<std::size_t> read(std::span<std::byte> out) override;
    Result<void> write(std::span<const std::byte> data) override;
    // Reads exactly out.size() bytes at offset or fails (a short file is corrupt).
    Result<void> pread_exact(std::span<std::byte> out, std::uint64_t offset) const;
    Result<std::uint64_t> size() const;
    Result<void> sync();
    Result<void> close();

    int fd() const { return m_fd; }
    const std::string& path() const { return m_path; }

private:
    int m_fd = -1;
    std::string m_path;
};

// A temporary file beside `target`, named ".<name>.tmp-XXXXXX", so a killed writer's leftovers can be found.
Result<File> create_temp_beside(const std::filesystem::path& target);
// Removes a temporary file whose writer is gone: true if removed; false if a live writer holds its flock
// (see File::create_temp), it is gone already, or we may not open it.
Result<bool> remove_if_abandoned(const std::filesystem::path& file);
// Removes the ".<name>.tmp-XXXXXX" leftovers of `target` that killed writers left (remove_if_abandoned:
// safe while other writers of target run); returns how many.
Result<std::size_t> remove_stale_temps(const std::filesystem::path& target);

// fsyncs a directory so a rename or create inside it survives power loss.
Result<void> sync_dir(const std::filesystem::path& dir);

// Writes content to path atomically: temp file beside it, fsync, rename, fsync the folder. Failpoint
// "io.temp_written" once the temp file holds the content.
Result<void> write_file_atomic(const std::filesystem::path& path, std::string_view content, unsigned mode = 0644);

// Reads a whole small file; refuses files over max_bytes (manifests, JSON: 16 MiB).
constexpr std::uint64_t k_max_document_bytes = 16u << 20;
Result<std::string> read_file(const std::filesystem::path& path, std::uint64_t max_bytes = k_max_document_bytes);

// create_directories without exceptions.
Result<void> make_dirs(const std::filesystem::path& dir);

} // namespace common::io
