// SPDX-License-Identifier: Apache-2.0
#include <installer/phases/store_phase.hpp>

#include <installer/phases/preflight.hpp>
#include <installer/system/facts.hpp>
#include <common/util/failpoint.hpp>

#include <common/util/progress.hpp>

#include <algorithm>

namespace installer::phases {

namespace {

namespace store = common::store;
using common::Errc;
using common::fail;

// Streams one blob into a store transaction; commit() publishes it once the walker checked its bytes.
class IngestSink : public common::bundle::BlobSink {
public:
    IngestSink(store::Ingest ingest, std::size_t& written) : m_ingest(std::move(ingest)), m_written(written) {}
    Result<void> write(std::span<const std::byte> data) override { return m_ingest.write(data); }
    Result<void> commit() override
    {
        TRY_VOID(m_ingest.commit());
        ++m_written;
        common::failpoint("store.blob_committed");
        return {};
    }

private:
    store::Ingest m_ingest;
    std::size_t& m_written;
};

class StorePhase : public Phase {
public:
    using Phase::Phase;

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
        std::size_t written = 0;
        auto sinks = [&](const store::BlobRef& ref) -> Result<std::unique_ptr<common::bundle::BlobSink>> {
            if (st->contains(ref)) return nullptr; // its bytes are still read and checked
            // The walker hashes these bytes and commits only when they match: no second hash here.
            auto ingest = st->begin(ref, store::Verify::by_caller);
            if (!ingest) return fail(ingest.error());
            return std::make_unique<IngestSink>(std::move(*ingest), written);
        };
        auto walked = ctx.bundle.walk([&](std::uint64_t done, std::uint64_t) { meter.update(done); }, sinks);
        if (!walked) return fail(walked.error());
        meter.finish();
        ctx.log.detail(fmt::format("store: wrote {} blobs", written));
        return {};
    }
};

} // namespace

std::unique_ptr<Phase> make_store_phase(const common::bundle::PhaseInfo& info) { return std::make_unique<StorePhase>(info); }

} // namespace installer::phases
