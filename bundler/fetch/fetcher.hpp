// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <vector>

#include <bundler/http/http_client.hpp>
#include <common/io/stream.hpp>
#include <common/store/blob_store.hpp>

namespace bundler::fetch {

using common::Result;

// `--mirror FROM=TO`: FROM is a host ("github.com", "127.0.0.1:8080") or a URL prefix
// ("https://github.com/k3s-io"); TO is the URL prefix that replaces it.
struct Mirror {
    std::string from;
    std::string to;
    static Result<Mirror> parse(std::string_view spec);
};

// The URL to fetch instead of `url`: the first matching mirror applied, or `url` itself.
std::string apply_mirrors(const std::string& url, const std::vector<Mirror>& mirrors);

// Streams a URL's body into a sink; network (or not_found for HTTP 404 / missing file) on failure.
class Fetcher {
public:
    virtual ~Fetcher() = default;
    virtual Result<void> fetch(const std::string& url, common::io::Sink& out) = 0;
};

// http, https and file URLs over the bundler's HTTP layer (libcurl): redirects followed, stalls time out,
// a status other than 2xx is an error naming it. One connection cache; not thread-safe.
class CurlFetcher : public Fetcher {
public:
    CurlFetcher();
    ~CurlFetcher() override;
    Result<void> fetch(const std::string& url, common::io::Sink& out) override;

private:
    http::Client m_client;
};

// Puts the pinned blob for `url` into the cache store: reuses a cached copy after re-hashing it,
// otherwise fetches (through the mirrors) and verifies size and sha256 while writing.
// Errors name the URL and, on a mismatch, both digests.
Result<void> fetch_pinned(Fetcher& fetcher, const common::store::BlobStore& cache, const std::string& url,
                          const std::vector<Mirror>& mirrors, const common::store::BlobRef& pin);

// Fetches an unpinned URL into the cache, returning what it was (used by `bundler lock`).
Result<common::store::BlobRef> fetch_unpinned(Fetcher& fetcher, const common::store::BlobStore& cache,
                                              const std::string& url, const std::vector<Mirror>& mirrors);

} // namespace bundler::fetch
