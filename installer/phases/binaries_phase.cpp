// SPDX-License-Identifier: Apache-2.0
#include <installer/phases/binaries_phase.hpp>

#include <installer/phases/store_files.hpp>

#include <common/util/failpoint.hpp>

namespace installer::phases {

namespace {

using common::fail;

class BinariesPhase : public Phase {
public:
    using Phase::Phase;

    Result<bool> satisfied(Context& ctx) const override
    {
        for (const auto& f : ctx.index.files) {
            if (!f.for_role(ctx.role)) continue;
            auto ok = holds_blob(ctx.sys, f.install, f.blob, f.mode);
            if (!ok || !*ok) return ok;
        }
        return true;
    }

    Result<void> apply(Context& ctx) override
    {
        for (const auto& f : ctx.index.files) {
            if (!f.for_role(ctx.role)) continue;
            auto ok = holds_blob(ctx.sys, f.install, f.blob, f.mode);
            if (!ok) return fail(ok.error().wrap("check " + f.install));
            if (*ok) {
                ctx.log.info("  {} already in place", f.install);
                continue;
            }
            TRY_VOID(install_from_store(ctx, f.install, f.blob, f.mode));
            ctx.log.info("  installed {} ({:04o})", f.install, f.mode);
            common::failpoint("binaries.file_installed");
        }
        return {};
    }
};

} // namespace

std::unique_ptr<Phase> make_binaries_phase(const common::bundle::PhaseInfo& info) { return std::make_unique<BinariesPhase>(info); }

} // namespace installer::phases
