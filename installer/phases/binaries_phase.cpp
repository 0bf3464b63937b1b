// SPDX-License-Identifier: Apache-2.0
#include <installer/phases/binaries_phase.hpp>

#include <common/util/failpoint.hpp>

namespace installer::phases {

namespace {

using common::fail;

// True when the node path holds exactly the entry's bytes with its mode.
Result<bool> in_place(system::System& sys, const common::bundle::FileEntry& f)
{
    auto info = sys.stat(f.install);
    if (!info) return fail(info.error());
    if (info->kind != system::FileKind::regular || info->mode != f.mode || info->size != f.blob.size) return false;
    auto got = sys.hash_file(f.install);
    if (!got) return fail(got.error());
    return got->digest == f.blob.digest;
}

class BinariesPhase : public Phase {
public:
    using Phase::Phase;

    Result<bool> satisfied(Context& ctx) const override
    {
        for (const auto& f : ctx.index.files) {
            if (!f.for_role(ctx.role)) continue;
            auto ok = in_place(ctx.sys, f);
            if (!ok || !*ok) return ok;
        }
        return true;
    }

    Result<void> apply(Context& ctx) override
    {
        auto st = common::store::BlobStore::view(ctx.paths.store);
        for (const auto& f : ctx.index.files) {
            if (!f.for_role(ctx.role)) continue;
            auto ok = in_place(ctx.sys, f);
            if (!ok) return fail(ok.error().wrap("check " + f.install));
            if (*ok) {
                ctx.log.info("  {} already in place", f.install);
                continue;
            }
            // Verified again on consume: the store copy may have been damaged since extraction. A damaged
            // blob is dropped, so that the next run's store phase sees it missing and restores it.
            if (auto installed = ctx.sys.install_blob(f.install, st, f.blob, {f.mode, {}, {}}); !installed) {
                common::Error e = installed.error();
                if (e.code == common::Errc::digest_mismatch || e.code == common::Errc::size_mismatch) {
                    std::error_code ec;
                    std::filesystem::remove(st.blob_path(f.blob.digest), ec);
                    e.message += "; removed it from the store: run the installer again to restore it from the bundle";
                }
                return fail(e.wrap("install " + f.install));
            }
            ctx.log.info("  installed {} ({:04o})", f.install, f.mode);
            common::failpoint("binaries.file_installed");
        }
        return {};
    }
};

} // namespace

std::unique_ptr<Phase> make_binaries_phase(const common::bundle::PhaseInfo& info) { return std::make_unique<BinariesPhase>(info); }

} // namespace installer::phases
