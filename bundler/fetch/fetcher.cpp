// SPDX-License-Identifier: Apache-2.0
#include <bundler/fetch/fetcher.hpp>

#include <common/io/file.hpp>
#include <common/util/failpoint.hpp>
#include <common/util/progress.hpp>

#include <filesystem>
#include <optional>

namespace bundler::fetch {

using common::Errc;
using common::Error;
using common::fail;

Result<Mirror> Mirror::parse(std::string_view spec)
{
    std::size_t eq = spec.find('=');
    if (eq == std::string_view::npos || eq == 0 || eq + 1 == spec.size())
        return fail(Errc::invalid_argument, "--mirror '{}': want FROM=TO, e.g. github.com=http://127.0.0.1:8080", spec);
    Mirror m{std::string(spec.substr(0, eq)), std::string(spec.substr(eq + 1))};
    while (m.to.ends_with('/')) m.to.pop_back();
    return m;
}

std::string apply_mirrors(const std::string& url, const std::vector<Mirror>& mirrors)
{
    for (const Mirror& m : mirrors) {
        if (m.from.find("://") != std::string::npos) {
            std::string prefix = m.from;
            while (prefix.ends_with('/')) prefix.pop_back();
            if (url == prefix || url.starts_with(prefix + "/")) return m.to + url.substr(prefix.size());
            continue;
        }
        std::size_t scheme = url.find("://");
        if (scheme == std::string::npos) continue;
        std::size_t host_start = scheme + 3;
        std::size_t host_end = url.find('/', host_start);
        if (host_end == std::string::npos) host_end = url.size();
        if (url.compare(host_start, host_end - host_start, m.from) == 0) return m.to + url.substr(host_end);
    }
    return url;
}

namespace {

// Passes bytes through to a sink, reporting progress of downloads of 1 MiB or more.
class ProgressSink : public common::io::Sink {
public:
    ProgressSink(common::io::Sink& out, std::string label, std::uint64_t total) : m_out(out), m_label(std::move(label)), m_total(total) {}
    Result<void> write(std::span<const std::byte> data) override
    {
        m_done += data.size();
        if (!m_meter && (m_total >= k_report_from || (m_total == 0 && m_done >= k_report_from)))
            m_meter.emplace(m_label, m_total);
        if (m_meter) m_meter->update(m_done);
        TRY_VOID(m_out.write(data));
        if (!m_started) {
            m_started = true;
            common::failpoint("fetch.blob_partial"); // crash tests: the first bytes are in ingest/
        }
        return {};
    }

private:
    static constexpr std::uint64_t k_report_from = 1u << 20;
    common::io::Sink& m_out;
    std::string m_label;
    std::uint64_t m_total;
    std::uint64_t m_done = 0;
    bool m_started = false;
    std::optional<common::ProgressMeter> m_meter;
};

std::string file_name(const std::string& url)
{
    std::size_t slash = url.rfind('/');
    return slash == std::string::npos ? url : url.substr(slash + 1);
}

} // namespace

CurlFetcher::CurlFetcher() = default;
CurlFetcher::~CurlFetcher() = default;

Result<void> CurlFetcher::fetch(const std::string& url, common::io::Sink& out)
{
    auto response = m_client.send(http::Request{.url = url}, out);
    if (!response) return fail(response.error());
    long status = response->status;
    if (status >= 200 && status < 300) return {};
    return fail(status == 404 ? Errc::not_found : Errc::network, "{}", http::describe_status(status));
}

Result<void> fetch_pinned(Fetcher& fetcher, const common::store::BlobStore& cache, const std::string& url,
                          const std::vector<Mirror>& mirrors, const common::store::BlobRef& pin)
{
    if (cache.contains(pin)) {
        if (cache.verify(pin)) return {};
        // A damaged cache entry is dropped and fetched again.
        std::error_code ec;
        std::filesystem::remove(cache.blob_path(pin.digest), ec);
    }
    std::string effective = apply_mirrors(url, mirrors);
    std::string what = effective == url ? fmt::format("fetch {}", url) : fmt::format("fetch {} (via {})", url, effective);
    auto ingest = cache.begin(pin);
    if (!ingest) return fail(ingest.error().wrap(what));
    ProgressSink progress(*ingest, "fetch " + file_name(url), pin.size);
    if (auto r = fetcher.fetch(effective, progress); !r) return fail(r.error().wrap(what));
    if (auto r = ingest->commit(); !r) return fail(r.error().wrap(what));
    return {};
}

Result<common::store::BlobRef> fetch_unpinned(Fetcher& fetcher, const common::store::BlobStore& cache,
                                              const std::string& url, const std::vector<Mirror>& mirrors)
{
    std::string effective = apply_mirrors(url, mirrors);
    std::string what = effective == url ? fmt::format("fetch {}", url) : fmt::format("fetch {} (via {})", url, effective);
    // Hashed while it downloads, and published under the digest it turned out to have.
    auto ingest = cache.begin_unknown();
    if (!ingest) return fail(ingest.error().wrap(what));
    ProgressSink progress(*ingest, "fetch " + file_name(url), 0);
    if (auto r = fetcher.fetch(effective, progress); !r) return fail(r.error().wrap(what));
    auto ref = ingest->commit_as_written();
    if (!ref) return fail(ref.error().wrap(what));
    return *ref;
}

} // namespace bundler::fetch
