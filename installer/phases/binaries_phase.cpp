// SPDX-License-Identifier: Apache-2.0
#include <installer/phases/binaries_phase.hpp>

#include <common/util/failpoint.hpp>

#include <cerrno>
#include <sys/stat.h>
#include <unistd.h>

namespace installer::phases {

namespace {

namespace fs = std::filesystem;
namespace io = common::io;
using common::fail;

// True when target holds exactly the entry's bytes with its mode.
bool in_place(const fs::path& target, const common::bundle::FileEntry& f)
{
    struct stat st {};
    if (::lstat(target.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
    if ((st.st_mode & 07777) != f.mode || static_cast<std::uint64_t>(st.st_size) != f.blob.size) return false;
    auto got = common::digest::sha256_file(target.string());
    return got && got->digest == f.blob.digest;
}

Result<void> install_from_store(const common::store::BlobStore& st, const common::bundle::FileEntry& f, const fs::path& target)
{
    TRY_VOID(io::make_dirs(target.parent_path()));
    // A killed earlier run may have left a partial copy beside the target (we hold the node lock).
    TRY_VOID(io::remove_stale_temps(target));
    auto tmp = io::create_temp_beside(target);
    if (!tmp) return fail(tmp.error());
    std::string tmp_path = tmp->path();
    auto undo = [&](common::Error e) {
        ::unlink(tmp_path.c_str());
        return fail(std::move(e));
    };
    // Verify again on consume: the store copy may have been damaged since extraction. A damaged blob is
    // dropped, so that the next run's store phase sees it missing and restores it from the bundle.
    if (auto ok = st.copy_out(f.blob, *tmp); !ok) {
        common::Error e = ok.error();
        if (e.code == common::Errc::digest_mismatch || e.code == common::Errc::size_mismatch) {
            std::error_code ec;
            fs::remove(st.blob_path(f.blob.digest), ec);
            e.message += "; removed it from the store: run the installer again to restore it from the bundle";
        }
        return undo(std::move(e));
    }
    common::failpoint("binaries.temp_written");
    if (::fchmod(tmp->fd(), f.mode) != 0) return undo(common::fail_errno("chmod " + tmp_path, errno).error());
    if (auto ok = tmp->sync(); !ok) return undo(ok.error());
    if (auto ok = tmp->close(); !ok) return undo(ok.error());
    if (::rename(tmp_path.c_str(), target.c_str()) != 0)
        return undo(common::fail_errno("rename to " + target.string(), errno).error());
    return io::sync_dir(target.parent_path());
}

class BinariesPhase : public Phase {
public:
    std::string_view name() const override { return "binaries"; }
    std::string_view summary() const override { return "install pinned binaries and files with their modes"; }

    Result<bool> satisfied(Context& ctx) const override
    {
        for (const auto& f : ctx.index.files)
            if (f.for_role(ctx.role) && !in_place(ctx.paths.on_node(f.install), f)) return false;
        return true;
    }

    Result<void> apply(Context& ctx) override
    {
        auto st = common::store::BlobStore::view(ctx.paths.store);
        for (const auto& f : ctx.index.files) {
            if (!f.for_role(ctx.role)) continue;
            fs::path target = ctx.paths.on_node(f.install);
            if (in_place(target, f)) {
                ctx.log.info("  {} already in place", f.install);
                continue;
            }
            if (auto ok = install_from_store(st, f, target); !ok) return fail(ok.error().wrap("install " + f.install));
            ctx.log.info("  installed {} ({:04o})", f.install, f.mode);
            common::failpoint("binaries.file_installed");
        }
        return {};
    }
};

} // namespace

std::unique_ptr<Phase> make_binaries_phase() { return std::make_unique<BinariesPhase>(); }

} // namespace installer::phases
