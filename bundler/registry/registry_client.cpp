// SPDX-License-Identifier: Apache-2.0
#include <bundler/registry/registry_client.hpp>

#include <common/io/string_stream.hpp>

#include <nlohmann/json.hpp>

#include <random>
#include <thread>

namespace bundler::registry {

using common::Errc;
using common::Error;
using common::fail;
namespace oci = common::oci;
namespace store = common::store;
namespace io = common::io;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t k_document_cap = 16u << 20; // manifests, configs (STYLE: cap every in-memory read)
constexpr std::size_t k_token_cap = 1u << 20;

std::string url_escape(std::string_view s)
{
    std::string out;
    for (char c : s) {
        if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '~') out += c;
        else out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    }
    return out;
}

std::string scope_of(const oci::Reference& repo) { return "repository:" + repo.path + ":pull"; }

std::string media_type_of(const http::Response& r)
{
    std::string ct(r.headers.get("Content-Type").value_or(""));
    if (std::size_t semi = ct.find(';'); semi != std::string::npos) ct.resize(semi);
    while (!ct.empty() && ct.back() == ' ') ct.pop_back();
    return ct;
}

// Where a blob's bytes go: the current ingest (replaced when a download restarts), counted for progress.
class IngestSink : public io::Sink {
public:
    std::optional<store::Ingest> ingest;
    const ProgressFn* progress = nullptr;

    Result<void> write(std::span<const std::byte> data) override
    {
        TRY_VOID(ingest->write(data));
        if (progress && *progress) (*progress)(static_cast<std::int64_t>(data.size()));
        return {};
    }
};

// "bytes 100-999/1000" -> 100.
std::optional<std::uint64_t> content_range_start(std::string_view v)
{
    if (!v.starts_with("bytes ")) return std::nullopt;
    v.remove_prefix(6);
    std::uint64_t n = 0;
    std::size_t i = 0;
    for (; i < v.size() && v[i] >= '0' && v[i] <= '9'; ++i) n = n * 10 + static_cast<std::uint64_t>(v[i] - '0');
    if (i == 0 || i >= v.size() || v[i] != '-') return std::nullopt;
    return n;
}

} // namespace

struct RegistryClient::Endpoint {
    enum class Scheme { anonymous, basic, bearer };
    struct Token {
        std::string value;
        Clock::time_point expires;
    };
    std::string base;  // http://127.0.0.1:5000
    std::string host;  // 127.0.0.1:5000
    std::string label; // "registry docker.io (via http://127.0.0.1:5000)"
    const Credentials* credentials = nullptr;
    std::mutex mutex;
    bool probed = false;
    Scheme scheme = Scheme::anonymous;
    std::string realm;
    std::string service;
    std::map<std::string, Token> tokens; // by scope

    // "for user U (credentials from ORIGIN)" or "anonymously": never the password.
    std::string who() const
    {
        return credentials ? fmt::format("as user {} (credentials from {})", credentials->username, credentials->origin)
                           : std::string("anonymously");
    }
};

RegistryClient::RegistryClient(RegistryOptions options) : m_options(std::move(options)) {}
RegistryClient::~RegistryClient() = default;

std::chrono::milliseconds retry_delay(const RetryPolicy& policy, int attempt, std::optional<std::string_view> retry_after)
{
    if (retry_after && !retry_after->empty() &&
        std::all_of(retry_after->begin(), retry_after->end(), [](char c) { return c >= '0' && c <= '9'; })) {
        std::chrono::milliseconds asked(std::stoll(std::string(retry_after->substr(0, 9))) * 1000);
        return std::min(asked, policy.max_delay);
    }
    auto delay = policy.first_delay * (1LL << std::min(attempt - 1, 20));
    return std::min<std::chrono::milliseconds>(delay, policy.max_delay);
}

bool transient_status(long status) { return status == 408 || status == 429 || (status >= 500 && status <= 599); }

std::string registry_error_text(std::string_view body)
{
    try {
        nlohmann::json j = nlohmann::json::parse(body);
        std::vector<std::string> parts;
        for (const nlohmann::json& e : j.at("errors"))
            parts.push_back(fmt::format("{}: {}", e.value("code", "?"), e.value("message", "")));
        return fmt::format("{}", fmt::join(parts, "; "));
    } catch (const std::exception&) {
        return {};
    }
}

std::string RegistryClient::endpoint(std::string_view domain) const
{
    for (const fetch::Mirror& m : m_options.mirrors)
        if (m.from.find("://") == std::string::npos && credential_host(m.from) == credential_host(domain)) return m.to;
    return fetch::apply_mirrors(oci::registry_url(domain), m_options.mirrors);
}

RegistryClient::Endpoint& RegistryClient::endpoint_for(const oci::Reference& repo)
{
    std::string base = endpoint(repo.domain);
    std::lock_guard lock(m_mutex);
    auto& slot = m_endpoints[base];
    if (!slot) {
        slot = std::make_unique<Endpoint>();
        slot->base = base;
        slot->host = http::url_authority(base);
        std::string direct = oci::registry_url(repo.domain);
        slot->label = base == direct ? fmt::format("registry {}", repo.domain) : fmt::format("registry {} (via {})", repo.domain, base);
        // Credentials belong to the server that is contacted (a mirror's own, not the upstream's).
        slot->credentials = m_options.credentials.find(slot->host);
    }
    return *slot;
}

void RegistryClient::pause_before_retry(int attempt, const http::Response* response) const
{
    std::optional<std::string_view> after = response ? response->headers.get("Retry-After") : std::nullopt;
    auto delay = retry_delay(m_options.retry, attempt, after);
    if (!after) {
        // Up to a quarter more, so parallel transfers that failed together do not retry together.
        thread_local std::minstd_rand jitter(std::random_device{}());
        delay += std::chrono::milliseconds(jitter() % (delay.count() / 4 + 1));
    }
    std::this_thread::sleep_for(delay);
}

Error RegistryClient::status_error(const Endpoint& ep, const http::Response& r, std::string_view what) const
{
    std::string detail = registry_error_text(r.error_body);
    std::string status = http::describe_status(r.status) + (detail.empty() ? "" : ": " + detail);
    if (r.status == 401 || r.status == 403)
        return Error{Errc::failed_precondition, fmt::format("{}: {}: access denied {}: {}", ep.label, what, ep.who(), status)};
    if (r.status == 404) return Error{Errc::not_found, fmt::format("{}: {}: {}", ep.label, what, status)};
    return Error{Errc::network, fmt::format("{}: {}: {}", ep.label, what, status)};
}

Result<http::Response> RegistryClient::send_plain_with_retries(http::Client& client, http::Request request,
                                                               std::string& body, std::size_t cap)
{
    for (int attempt = 1;; ++attempt) {
        io::StringSink sink(cap, request.url);
        auto r = client.send(request, sink);
        bool last = attempt >= m_options.retry.attempts;
        if (!r && r.error().code == Errc::network && !last) {
            pause_before_retry(attempt, nullptr);
            continue;
        }
        if (r && transient_status(r->status) && !last) {
            pause_before_retry(attempt, &*r);
            continue;
        }
        if (r) body = sink.take();
        return r;
    }
}

Result<std::string> RegistryClient::fetch_token(http::Client& client, Endpoint& ep, const std::string& scope)
{
    std::string url = ep.realm + (ep.realm.find('?') == std::string::npos ? "?" : "&") + "service=" + url_escape(ep.service);
    if (!scope.empty()) url += "&scope=" + url_escape(scope);
    http::Request request{.url = url};
    if (ep.credentials) request.headers.add("Authorization", basic_authorization(*ep.credentials));
    std::string body;
    auto r = send_plain_with_retries(client, request, body, k_token_cap);
    if (!r) return fail(r.error().wrap(fmt::format("{}: get a token from {}", ep.label, ep.realm)));
    if (r->status == 401 || r->status == 403)
        return fail(Errc::failed_precondition, "{}: authentication failed {}: the token server {} answered {}", ep.label, ep.who(),
                    ep.realm, http::describe_status(r->status));
    if (r->status != 200)
        return fail(Errc::network, "{}: the token server {} answered {}", ep.label, ep.realm, http::describe_status(r->status));
    try {
        nlohmann::json j = nlohmann::json::parse(body);
        std::string token = j.value("token", "");
        if (token.empty()) token = j.value("access_token", "");
        if (token.empty()) return fail(Errc::corrupt, "{}: the token server {} answered no token", ep.label, ep.realm);
        long long expires_in = j.contains("expires_in") && j.at("expires_in").is_number_integer() ? j.at("expires_in").get<long long>() : 60;
        if (expires_in < 60) expires_in = 60; // the spec's minimum
        // Renewed a little early, so a token never expires between our check and the registry's.
        ep.tokens[scope] = {token, Clock::now() + std::chrono::seconds(expires_in - std::min(30LL, expires_in / 4))};
        return token;
    } catch (const std::exception& e) {
        return fail(Errc::corrupt, "{}: the token server {} answered malformed JSON: {}", ep.label, ep.realm, e.what());
    }
}

Result<void> RegistryClient::verify_credentials(http::Client& client, Endpoint& ep)
{
    if (ep.scheme == Endpoint::Scheme::bearer) {
        // As `docker login` does: a token for no scope proves the credentials (or anonymous access).
        auto token = fetch_token(client, ep, "");
        if (!token) return fail(token.error());
        return {};
    }
    if (ep.scheme != Endpoint::Scheme::basic) return {};
    if (!ep.credentials)
        return fail(Errc::failed_precondition,
                    "{} requires credentials (HTTP 401 Unauthorized): add them to {} or give --registry-auth {}=USER:PASSWORD_FILE",
                    ep.label, docker_config_path().string(), ep.host);
    http::Request request{.url = ep.base + "/v2/"};
    request.headers.add("Authorization", basic_authorization(*ep.credentials));
    std::string body;
    auto r = send_plain_with_retries(client, request, body, k_token_cap);
    if (!r) return fail(r.error().wrap(fmt::format("{}: GET {}/v2/", ep.label, ep.base)));
    if (r->status != 200)
        return fail(Errc::failed_precondition, "{}: authentication failed {}: {}", ep.label, ep.who(), http::describe_status(r->status));
    return {};
}

namespace {

// Takes the strongest challenge a 401 offers: bearer over basic. False when there is none we speak.
bool apply_challenge(RegistryClient::Endpoint& ep, const http::Response& r);

} // namespace

Result<void> RegistryClient::ensure_probed(http::Client& client, Endpoint& ep)
{
    std::lock_guard lock(ep.mutex);
    if (ep.probed) return {};
    std::string body;
    auto r = send_plain_with_retries(client, http::Request{.url = ep.base + "/v2/"}, body, k_token_cap);
    if (!r) return fail(r.error().wrap(fmt::format("{}: GET {}/v2/", ep.label, ep.base)));
    if (r->status == 401) {
        if (!apply_challenge(ep, *r))
            return fail(Errc::unsupported, "{}: GET {}/v2/ answered 401 without a Basic or Bearer challenge", ep.label, ep.base);
        TRY_VOID(verify_credentials(client, ep));
    } else if (r->status != 200) {
        return fail(Errc::network, "{}: GET {}/v2/ answered {}: not an OCI distribution registry", ep.label, ep.base,
                    http::describe_status(r->status));
    }
    ep.probed = true;
    return {};
}

namespace {

bool apply_challenge(RegistryClient::Endpoint& ep, const http::Response& r)
{
    std::optional<Challenge> basic, bearer;
    for (std::string_view value : r.headers.all("WWW-Authenticate")) {
        auto parsed = parse_www_authenticate(value);
        if (!parsed) continue;
        for (Challenge& c : *parsed) {
            if (c.scheme == "bearer" && c.params.contains("realm")) bearer = c;
            if (c.scheme == "basic") basic = c;
        }
    }
    if (bearer) {
        ep.scheme = RegistryClient::Endpoint::Scheme::bearer;
        ep.realm = bearer->params["realm"];
        ep.service = bearer->params["service"];
        return true;
    }
    if (basic) {
        ep.scheme = RegistryClient::Endpoint::Scheme::basic;
        return true;
    }
    return false;
}

} // namespace

Result<std::optional<std::string>> RegistryClient::authorization(http::Client& client, Endpoint& ep, const std::string& scope)
{
    std::lock_guard lock(ep.mutex);
    switch (ep.scheme) {
    case Endpoint::Scheme::anonymous: return std::optional<std::string>();
    case Endpoint::Scheme::basic:
        if (!ep.credentials) return std::optional<std::string>();
        return std::optional<std::string>(basic_authorization(*ep.credentials));
    case Endpoint::Scheme::bearer: break;
    }
    auto it = ep.tokens.find(scope);
    if (it != ep.tokens.end() && Clock::now() < it->second.expires) return std::optional<std::string>("Bearer " + it->second.value);
    auto token = fetch_token(client, ep, scope);
    if (!token) return fail(token.error());
    return std::optional<std::string>("Bearer " + *token);
}

Result<http::Response> RegistryClient::send(http::Client& client, Endpoint& ep, const std::string& scope, http::Request request,
                                            const http::BodyTarget& target)
{
    TRY_VOID(ensure_probed(client, ep));
    for (int round = 0;; ++round) {
        auto auth = authorization(client, ep, scope);
        if (!auth) return fail(auth.error());
        request.headers.remove("Authorization");
        if (*auth) request.headers.add("Authorization", **auth);
        auto r = client.send(request, target);
        if (!r || r->status != 401 || round > 0) return r;
        // An expired or revoked token, or a registry that challenges only here: one more try, fresh.
        std::lock_guard lock(ep.mutex);
        ep.tokens.erase(scope);
        if (!apply_challenge(ep, *r)) return r;
        if (ep.scheme == Endpoint::Scheme::basic && !ep.credentials) return r;
    }
}

Result<std::string> RegistryClient::get_document(http::Client& client, Endpoint& ep, const std::string& scope,
                                                 http::Request request, std::size_t cap, http::Response& head)
{
    for (int attempt = 1;; ++attempt) {
        io::StringSink sink(cap, request.url);
        auto r = send(client, ep, scope, request, [&](const http::Response&) -> Result<io::Sink*> { return &sink; });
        bool last = attempt >= m_options.retry.attempts;
        if (!r && r.error().code == Errc::network && !last) {
            pause_before_retry(attempt, nullptr);
            continue;
        }
        if (!r) return fail(r.error());
        if (transient_status(r->status) && !last) {
            pause_before_retry(attempt, &*r);
            continue;
        }
        head = std::move(*r);
        if (head.status != 200) return fail(status_error(ep, head, "GET " + request.url));
        return sink.take();
    }
}

Result<ManifestBytes> RegistryClient::get_manifest(http::Client& client, const oci::Reference& repo, std::string_view ref)
{
    Endpoint& ep = endpoint_for(repo);
    std::string what = fmt::format("manifest {}{}{}", repo.name(), ref.starts_with("sha256:") ? "@" : ":", ref);
    http::Request request{.url = fmt::format("{}/v2/{}/manifests/{}", ep.base, repo.path, ref)};
    request.headers.add("Accept", oci::manifest_accept());
    http::Response head;
    auto bytes = get_document(client, ep, scope_of(repo), request, k_document_cap, head);
    if (!bytes) return fail(bytes.error().wrap("get " + what));
    common::digest::Digest got = common::digest::sha256_of(*bytes);
    if (auto header = head.headers.get("Docker-Content-Digest")) {
        auto said = common::digest::Digest::parse(*header);
        if (said && *said != got)
            return fail(Errc::digest_mismatch, "get {}: sha256 mismatch: the registry's Docker-Content-Digest is {} but the bytes hash to {}",
                        what, said->str(), got.str());
    }
    if (ref.starts_with("sha256:") && got.str() != ref)
        return fail(Errc::digest_mismatch, "get {}: sha256 mismatch: got {}, want {}", what, got.str(), ref);
    oci::Descriptor descriptor{media_type_of(head), got, bytes->size(), std::nullopt};
    return ManifestBytes{std::move(*bytes), std::move(descriptor)};
}

Result<std::string> RegistryClient::get_small_blob(http::Client& client, const oci::Reference& repo, const oci::Descriptor& d)
{
    Endpoint& ep = endpoint_for(repo);
    std::string what = fmt::format("blob {}@{}", repo.name(), d.digest.str());
    if (d.size > k_document_cap) return fail(Errc::invalid_argument, "get {}: {} bytes is over the limit of {}", what, d.size, k_document_cap);
    http::Request request{.url = fmt::format("{}/v2/{}/blobs/{}", ep.base, repo.path, d.digest.str())};
    http::Response head;
    auto bytes = get_document(client, ep, scope_of(repo), request, k_document_cap, head);
    if (!bytes) return fail(bytes.error().wrap("get " + what));
    TRY_VOID(io::check_content("get " + what, {d.digest, d.size}, common::digest::sha256_of(*bytes), bytes->size()));
    return std::move(*bytes);
}

namespace {

// The ingest of one blob download: bytes already received stay across attempts; restart() drops them.
class Download {
public:
    Download(const store::BlobStore& cache, store::BlobRef ref, const ProgressFn& progress) : m_cache(cache), m_ref(ref)
    {
        m_sink.progress = &progress;
    }
    Result<void> restart()
    {
        if (m_sink.ingest && m_sink.ingest->written() > 0 && *m_sink.progress)
            (*m_sink.progress)(-static_cast<std::int64_t>(m_sink.ingest->written()));
        m_sink.ingest.reset(); // removes the partial file
        auto fresh = m_cache.begin(m_ref);
        if (!fresh) return fail(fresh.error());
        m_sink.ingest.emplace(std::move(*fresh));
        return {};
    }
    std::uint64_t have() const { return m_sink.ingest->written(); }
    // Where a response's body goes: on after the bytes we have when it is the 206 we asked for,
    // else (a 200, another range) from the start, cleanly.
    Result<io::Sink*> target(const http::Response& head, std::uint64_t asked_from)
    {
        if (head.status == 206) {
            std::string_view range = head.headers.get("Content-Range").value_or("");
            if (content_range_start(range) == asked_from && asked_from == have()) return &m_sink;
            TRY_VOID(restart());
            return fail(Errc::network, "a Range request for bytes {}- was answered with '{}'", asked_from, range);
        }
        if (have() > 0) TRY_VOID(restart());
        return &m_sink;
    }
    Result<void> commit() { return m_sink.ingest->commit(); }

private:
    const store::BlobStore& m_cache;
    store::BlobRef m_ref;
    IngestSink m_sink;
};

} // namespace

Result<void> RegistryClient::fetch_to_cache(http::Client& client, const oci::Reference& repo, const oci::Descriptor& d, Kind kind,
                                            const store::BlobStore& cache, const ProgressFn& progress)
{
    store::BlobRef ref{d.digest, d.size};
    if (cache.contains(ref)) {
        if (cache.verify(ref)) return {};
        std::error_code ec; // a damaged cache entry is dropped and fetched again
        std::filesystem::remove(cache.blob_path(ref.digest), ec);
    }
    Endpoint& ep = endpoint_for(repo);
    std::string what = fmt::format("get {} {}@{}", kind == Kind::blob ? "blob" : "manifest", repo.name(), d.digest.str());
    http::Request request{.url = fmt::format("{}/v2/{}/{}/{}", ep.base, repo.path, kind == Kind::blob ? "blobs" : "manifests", d.digest.str())};
    if (kind == Kind::manifest) request.headers.add("Accept", d.media_type.empty() ? oci::manifest_accept() : d.media_type);
    Download download(cache, ref, progress);
    if (auto r = download.restart(); !r) return fail(r.error().wrap(what));
    std::string last_problem;
    for (int attempt = 1; attempt <= m_options.retry.attempts; ++attempt) {
        // Only blobs resume: a manifest is small, and registries answer its Range requests unevenly.
        std::uint64_t from = kind == Kind::blob ? download.have() : 0;
        request.range_start = from > 0 ? std::optional<std::uint64_t>(from) : std::nullopt;
        auto r = send(client, ep, scope_of(repo), request, [&](const http::Response& head) { return download.target(head, from); });
        if (!r && r.error().code != Errc::network) return fail(r.error().wrap(what)); // the sink's: a mismatch, a full disk
        if (r && (r->status == 200 || r->status == 206)) {
            if (auto c = download.commit(); !c) return fail(c.error().wrap(what));
            return {};
        }
        if (r && r->status == 416) { // our Range was past what the server has: start over
            if (auto again = download.restart(); !again) return fail(again.error().wrap(what));
        } else if (r && !transient_status(r->status)) {
            return fail(status_error(ep, *r, "GET " + request.url));
        }
        last_problem = r ? http::describe_status(r->status) : r.error().message;
        if (attempt < m_options.retry.attempts) pause_before_retry(attempt, r ? &*r : nullptr);
    }
    return fail(Errc::network, "{}: gave up after {} attempts: {}", what, m_options.retry.attempts, last_problem);
}

} // namespace bundler::registry
