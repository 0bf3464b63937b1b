// SPDX-License-Identifier: Apache-2.0
#include <bundler/http/http_client.hpp>

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>

namespace bundler::http {

using common::Errc;
using common::Error;
using common::fail;

namespace {

bool iequals(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

std::string_view trim(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
    return s;
}

struct CurlGlobal {
    CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
    ~CurlGlobal() { curl_global_cleanup(); }
};

constexpr std::size_t k_error_body_cap = 64 * 1024;

bool is_redirect(long status) { return status == 301 || status == 302 || status == 303 || status == 307 || status == 308; }

// One transfer: the head as it comes in, then the body to the chosen sink.
struct Transfer {
    CURL* curl = nullptr;
    bool file_url = false;
    const BodyTarget* target = nullptr;
    Response response;
    bool head_done = false;
    common::io::Sink* sink = nullptr;
    std::optional<Error> error;

    // Called before the first body byte (or at the end of a body-less response).
    bool finish_head()
    {
        if (head_done) return true;
        head_done = true;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
        if (file_url && response.status == 0) response.status = 200;
        bool body_wanted = response.status >= 200 && response.status < 300;
        if (!body_wanted) return true;
        auto chosen = (*target)(response);
        if (!chosen) {
            error = chosen.error();
            return false;
        }
        sink = *chosen;
        return true;
    }
};

std::size_t on_header(char* ptr, std::size_t size, std::size_t nmemb, void* user)
{
    auto* t = static_cast<Transfer*>(user);
    std::size_t len = size * nmemb;
    std::string_view line(ptr, len);
    if (line.starts_with("HTTP/")) {
        t->response.headers.clear(); // a new response (after 100 Continue, say): only the last one counts
        return len;
    }
    std::size_t colon = line.find(':');
    if (colon != std::string_view::npos)
        t->response.headers.add(std::string(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1))));
    return len;
}

std::size_t on_body(char* ptr, std::size_t size, std::size_t nmemb, void* user)
{
    auto* t = static_cast<Transfer*>(user);
    std::size_t len = size * nmemb;
    if (!t->finish_head()) return 0;
    if (t->sink) {
        if (auto r = t->sink->write(std::as_bytes(std::span(ptr, len))); !r) {
            t->error = r.error();
            return 0; // aborts the transfer
        }
    } else if (!is_redirect(t->response.status) && t->response.error_body.size() < k_error_body_cap) {
        t->response.error_body.append(ptr, std::min(len, k_error_body_cap - t->response.error_body.size()));
    }
    return len;
}

std::string lower(std::string_view s)
{
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::string scheme_of(std::string_view url)
{
    std::size_t p = url.find("://");
    return p == std::string_view::npos ? std::string() : lower(url.substr(0, p));
}

} // namespace

void Headers::add(std::string name, std::string value) { m_fields.emplace_back(std::move(name), std::move(value)); }

std::optional<std::string_view> Headers::get(std::string_view name) const
{
    for (const auto& [n, v] : m_fields)
        if (iequals(n, name)) return std::string_view(v);
    return std::nullopt;
}

std::vector<std::string_view> Headers::all(std::string_view name) const
{
    std::vector<std::string_view> out;
    for (const auto& [n, v] : m_fields)
        if (iequals(n, name)) out.emplace_back(v);
    return out;
}

void Headers::remove(std::string_view name)
{
    std::erase_if(m_fields, [&](const auto& f) { return iequals(f.first, name); });
}

struct Client::Impl {
    ClientOptions options;
    CURL* curl = nullptr;

    Result<Response> perform_once(const Request& r, const BodyTarget& target);
};

Client::Client(ClientOptions options) : m_impl(new Impl{options})
{
    static CurlGlobal global;
    m_impl->curl = curl_easy_init();
}

Client::~Client()
{
    if (m_impl->curl) curl_easy_cleanup(m_impl->curl);
    delete m_impl;
}

Result<Response> Client::Impl::perform_once(const Request& r, const BodyTarget& target)
{
    if (!curl) return fail(Errc::network, "curl: cannot start a transfer");
    curl_easy_reset(curl); // keeps the connection cache, drops every option
    Transfer t;
    t.curl = curl;
    t.file_url = scheme_of(r.url) == "file";
    t.target = &target;
    t.response.url = r.url;
    char errbuf[CURL_ERROR_SIZE] = {0};
    std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(nullptr, &curl_slist_free_all);
    for (const auto& [name, value] : r.headers.fields())
        headers.reset(curl_slist_append(headers.release(), fmt::format("{}: {}", name, value).c_str()));
    std::string range = r.range_start ? fmt::format("{}-", *r.range_start) : std::string();
    curl_easy_setopt(curl, CURLOPT_URL, r.url.c_str());
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https,file");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    if (r.method == Method::head) curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    if (r.range_start) curl_easy_setopt(curl, CURLOPT_RANGE, range.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, options.connect_timeout_s);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, options.low_speed_limit);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, options.low_speed_time_s);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "platform-bundler/0.1");
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = curl_easy_perform(curl);
    if (t.error) return fail(*t.error);
    if (rc != CURLE_OK) {
        Errc code = rc == CURLE_FILE_COULDNT_READ_FILE ? Errc::not_found : Errc::network;
        return fail(code, "{}", errbuf[0] ? errbuf : curl_easy_strerror(rc));
    }
    if (!t.finish_head()) return fail(*t.error); // a response without a body still picks its sink
    return std::move(t.response);
}

Result<Response> Client::send(const Request& request, const BodyTarget& target)
{
    Request r = request;
    for (int hops = 0;; ++hops) {
        auto response = m_impl->perform_once(r, target);
        if (!response) return response;
        std::optional<std::string_view> location = response->headers.get("Location");
        if (!is_redirect(response->status) || !location) return response;
        if (hops >= m_impl->options.max_redirects)
            return fail(Errc::network, "more than {} redirects (last to {})", m_impl->options.max_redirects, *location);
        auto next = resolve_location(r.url, std::string(*location));
        if (!next) return fail(next.error());
        std::string scheme = scheme_of(*next);
        if (scheme != "http" && scheme != "https") return fail(Errc::network, "redirect to '{}': not an http(s) URL", *next);
        // Credentials are for the host they were given to: blob storage elsewhere gets none.
        if (scheme != scheme_of(r.url) || url_authority(*next) != url_authority(r.url)) r.headers.remove("Authorization");
        r.url = std::move(*next);
    }
}

Result<Response> Client::send(const Request& request, common::io::Sink& body)
{
    return send(request, [&](const Response&) -> Result<common::io::Sink*> { return &body; });
}

std::string_view reason_phrase(long status)
{
    switch (status) {
    case 200: return "OK";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 307: return "Temporary Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 416: return "Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
    }
}

std::string describe_status(long status)
{
    std::string_view phrase = reason_phrase(status);
    return phrase.empty() ? fmt::format("HTTP {}", status) : fmt::format("HTTP {} {}", status, phrase);
}

Result<std::string> resolve_location(const std::string& base, const std::string& location)
{
    std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), &curl_url_cleanup);
    if (!u || curl_url_set(u.get(), CURLUPART_URL, base.c_str(), 0) != CURLUE_OK ||
        curl_url_set(u.get(), CURLUPART_URL, location.c_str(), 0) != CURLUE_OK)
        return fail(Errc::network, "redirect from {} to '{}': not a valid URL", base, location);
    char* out = nullptr;
    if (curl_url_get(u.get(), CURLUPART_URL, &out, 0) != CURLUE_OK)
        return fail(Errc::network, "redirect from {} to '{}': not a valid URL", base, location);
    std::string resolved(out);
    curl_free(out);
    return resolved;
}

std::string url_authority(std::string_view url)
{
    std::size_t start = url.find("://");
    if (start == std::string_view::npos) return {};
    start += 3;
    std::size_t end = url.find_first_of("/?#", start);
    std::string_view authority = url.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (std::size_t at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
    return lower(authority);
}

} // namespace bundler::http
