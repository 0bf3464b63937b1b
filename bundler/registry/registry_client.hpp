// SPDX-License-Identifier: Apache-2.0
// A client of OCI distribution spec v1.1 registries (pull only): the /v2/ probe, anonymous, HTTP basic
// and bearer-token auth (tokens reused per scope until they expire), manifests hashed and checked
// against Docker-Content-Digest and what was asked for, blobs streamed into the content-addressed
// cache with retries (429 with Retry-After, 5xx, dropped connections) and resumed with Range.
// `--mirror` sends a registry's requests elsewhere without changing any name.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <bundler/fetch/fetcher.hpp>
#include <bundler/http/http_client.hpp>
#include <bundler/registry/auth.hpp>
#include <common/oci/image_manifest.hpp>
#include <common/oci/reference.hpp>
#include <common/store/blob_store.hpp>

namespace bundler::registry {

struct RetryPolicy {
    int attempts = 6;                              // tries per request, the first included
    std::chrono::milliseconds first_delay{500};    // doubled after each failure
    std::chrono::milliseconds max_delay{30000};    // also caps what Retry-After may ask for
};

struct RegistryOptions {
    std::vector<fetch::Mirror> mirrors; // FROM is a registry domain ("docker.io"), host or URL prefix
    CredentialStore credentials;
    RetryPolicy retry;
    unsigned jobs = 4; // parallel transfers (lock: images; build: blobs)
};

// A manifest or index as the registry served it: its bytes and their descriptor.
struct ManifestBytes {
    std::string bytes;
    common::oci::Descriptor descriptor; // media type from the Content-Type, digest and size of the bytes
};

// Blob or manifest: which endpoint serves the digest.
enum class Kind { blob, manifest };

// Bytes received (negative when a download restarts), for progress.
using ProgressFn = std::function<void(std::int64_t)>;

// Thread-safe: the auth state per registry is shared and locked; every call takes the calling thread's
// own http::Client.
class RegistryClient {
public:
    explicit RegistryClient(RegistryOptions options);
    ~RegistryClient();

    const RegistryOptions& options() const { return m_options; }
    // The base URL serving a registry domain's /v2/ API, after --mirror.
    std::string endpoint(std::string_view domain) const;

    // GET /v2/<path>/manifests/<ref> (a tag or a digest). The bytes' digest must equal the
    // Docker-Content-Digest header when there is one, and `ref` when it is a digest (digest_mismatch
    // naming both). not_found for an unknown tag or digest; auth failures name the registry and status.
    Result<ManifestBytes> get_manifest(http::Client& client, const common::oci::Reference& repo, std::string_view ref);
    // GET a small blob (an image config, at most 16 MiB) into memory, checked against its descriptor.
    Result<std::string> get_small_blob(http::Client& client, const common::oci::Reference& repo,
                                       const common::oci::Descriptor& d);
    // Puts a blob (or a manifest, by digest) into the cache unless a sound copy is there: streamed into
    // an ingest and committed only when size and digest match (digest_mismatch otherwise, nothing
    // cached, never retried). Transient failures are retried; a partial blob resumes with Range
    // (restarting cleanly when the server answers 200 instead of 206).
    Result<void> fetch_to_cache(http::Client& client, const common::oci::Reference& repo, const common::oci::Descriptor& d,
                                Kind kind, const common::store::BlobStore& cache, const ProgressFn& progress = {});

    struct Endpoint;

private:
    Endpoint& endpoint_for(const common::oci::Reference& repo);
    Result<void> ensure_probed(http::Client& client, Endpoint& ep);
    Result<void> verify_credentials(http::Client& client, Endpoint& ep);
    Result<std::optional<std::string>> authorization(http::Client& client, Endpoint& ep, const std::string& scope);
    Result<std::string> fetch_token(http::Client& client, Endpoint& ep, const std::string& scope);
    // One request with auth (a bearer token refreshed once on 401); transport errors returned as is.
    Result<http::Response> send(http::Client& client, Endpoint& ep, const std::string& scope, http::Request request,
                                const http::BodyTarget& target);
    // send() with retries of transient failures; bodies go to a capped string.
    Result<std::string> get_document(http::Client& client, Endpoint& ep, const std::string& scope, http::Request request,
                                     std::size_t cap, http::Response& head);
    Result<http::Response> send_plain_with_retries(http::Client& client, http::Request request, std::string& body,
                                                   std::size_t cap);
    void pause_before_retry(int attempt, const http::Response* response) const;
    common::Error status_error(const Endpoint& ep, const http::Response& response, std::string_view what) const;

    RegistryOptions m_options;
    std::mutex m_mutex;
    std::map<std::string, std::unique_ptr<Endpoint>> m_endpoints; // by base URL
};

// How long to wait after failed attempt `attempt` (1-based): the policy's doubling delay, or what a
// Retry-After header asks (in seconds), capped at max_delay.
std::chrono::milliseconds retry_delay(const RetryPolicy& policy, int attempt, std::optional<std::string_view> retry_after);
// Whether a status is worth retrying: 408, 429 and 5xx.
bool transient_status(long status);
// The registry's error body ({"errors":[{"code","message"}]}) as "CODE: message", or empty.
std::string registry_error_text(std::string_view body);

} // namespace bundler::registry
