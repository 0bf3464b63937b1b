// SPDX-License-Identifier: Apache-2.0
#include <installer/phases/store_phase.hpp>

#include <installer/phases/preflight.hpp>
#include <installer/system/facts.hpp>
#include <installer/system/failpoint.hpp>

#include <common/util/progress.hpp>

#include <algorithm>
#include <vector>

namespace installer::phases {

namespace {

namespace store = common::store;
using common::Errc;
using common::fail;

class StorePhase : public Phase {
public:
    std::string_view name() const override { return "store"; }
    std::string_view summary() const override { return "extract the bundle's blobs into the node store (verified)"; }

    Result<bool> satisfied(Context& ctx) const override
    {
        auto view = store::BlobStore::view(ctx.paths.store);
        return std::all_of(ctx.index.blobs.begin(), ctx.index.blobs.end(), [&](const store::BlobRef& b) { return view.contains(b); });
    }

    Result<void> apply(Context& ctx) override
    {
        auto st = store::BlobStore::open(ctx.paths.store);
        if (!st) return fail(st.error());
        // Leftovers of a killed run are partial blobs: drop them (we hold the node lock).
        if (auto removed = st->remove_stale_ingests(); removed && *removed > 0)
            ctx.log.info("  removed {} partial file(s) left by an interrupted run", *removed);

        std::uint64_t need = 0;
        std::size_t missing = 0;
        for (const store::BlobRef& b : ctx.index.blobs)
            if (!st->contains(b)) need += b.size, ++missing;
        auto free = system::free_bytes(ctx.paths.store);
        if (!free) return fail(free.error());
        if (*free < need)
            return fail(Errc::failed_precondition, "not enough space in {}: need {}, have {}", ctx.paths.store.string(),
                        common::human_bytes(need), common::human_bytes(*free));
        ctx.log.info("  {} of {} blobs to write ({})", missing, ctx.index.blobs.size(), common::human_bytes(need));

        common::ProgressMeter meter("  extract", ctx.bundle.trailer().payload_size);
        common::bundle::PayloadReader reader = ctx.bundle.payload([&](std::uint64_t done, std::uint64_t) { meter.update(done); });
        auto first = reader.next();
        if (!first) return fail(first.error());
        auto json = common::bundle::read_index_entry(reader, **first, ctx.bundle.trailer());
        if (!json) return fail(json.error());

        std::vector<std::byte> buf(1 << 20);
        std::size_t written = 0;
        for (;;) {
            auto entry = reader.next();
            if (!entry) return fail(entry.error());
            if (!*entry) break;
            auto d = common::digest::Digest::from_hex(std::string_view((*entry)->path).substr(13));
            if (!d) return fail(d.error());
            auto ref = std::lower_bound(ctx.index.blobs.begin(), ctx.index.blobs.end(), *d,
                                        [](const store::BlobRef& b, const common::digest::Digest& x) { return b.digest < x; });
            if (ref == ctx.index.blobs.end() || ref->digest != *d)
                return fail(Errc::corrupt, "payload entry '{}' is not listed in bundle.json", (*entry)->path);
            if (st->contains(*ref)) continue; // reader skips its bytes
            auto ingest = st->begin(*ref);
            if (!ingest) return fail(ingest.error());
            for (;;) {
                auto n = reader.read(buf);
                if (!n) return fail(n.error());
                if (*n == 0) break;
                TRY_VOID(ingest->write(std::span(buf.data(), *n)));
            }
            if (auto ok = ingest->commit(); !ok) return fail(ok.error().wrap("payload entry " + (*entry)->path));
            ++written;
            system::failpoint("store.blob_committed");
        }
        auto payload_digest = reader.finish();
        if (!payload_digest) return fail(payload_digest.error());
        if (*payload_digest != ctx.bundle.trailer().payload_sha256)
            return fail(Errc::digest_mismatch, "payload changed while extracting: sha256 {}, the trailer records {}",
                        payload_digest->str(), ctx.bundle.trailer().payload_sha256.str());
        meter.finish();
        ctx.log.detail(fmt::format("store: wrote {} blobs", written));
        return {};
    }
};

} // namespace

std::unique_ptr<Phase> make_store_phase() { return std::make_unique<StorePhase>(); }

} // namespace installer::phases
