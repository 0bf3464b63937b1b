// SPDX-License-Identifier: Apache-2.0
// The bundler's one HTTP layer (libcurl), under the file fetcher and the registry client: a request
// (method, URL, headers, an optional Range start), a response (status, headers looked up without regard
// to case), the body streamed to a sink chosen once the response's head is in. Redirects are followed
// here, not by curl, so that a redirect to another host (blob storage) never carries Authorization.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <common/io/stream.hpp>

namespace bundler::http {

using common::Result;

// Header fields in the order they came; get() ignores case, as HTTP does.
class Headers {
public:
    void add(std::string name, std::string value);
    // The first value of a field, or nullopt.
    std::optional<std::string_view> get(std::string_view name) const;
    // Every value of a field (WWW-Authenticate may come more than once).
    std::vector<std::string_view> all(std::string_view name) const;
    void remove(std::string_view name);
    void clear() { m_fields.clear(); }
    const std::vector<std::pair<std::string, std::string>>& fields() const { return m_fields; }

private:
    std::vector<std::pair<std::string, std::string>> m_fields;
};

enum class Method { get, head };

struct Request {
    Method method = Method::get;
    std::string url;
    Headers headers;
    std::optional<std::uint64_t> range_start; // "Range: bytes=N-": the server may answer 206, or 200 and all of it
};

struct Response {
    long status = 0;        // file:// URLs that could be read answer 200
    Headers headers;
    std::string url;        // the URL that answered, after redirects
    std::string error_body; // the first 64 KiB of the body of a response that is not 2xx
};

// Where a 2xx body goes, decided once its head (status, headers) is known: a resumed download answered
// 200 instead of 206 must start again. Returning an error aborts the transfer with that error.
using BodyTarget = std::function<Result<common::io::Sink*>(const Response& head)>;

struct ClientOptions {
    long connect_timeout_s = 30;
    long low_speed_limit = 1024; // bytes per second below which, for low_speed_time_s, a transfer is stalled
    long low_speed_time_s = 60;
    int max_redirects = 10;
};

// One libcurl handle (connections are reused between requests). Not thread-safe: one per thread.
class Client {
public:
    explicit Client(ClientOptions options = {});
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // Sends the request, following redirects (3xx with Location; Authorization dropped when the host or
    // port changes). Any final status is returned as a Response, its 2xx body written to the sink
    // `target` chooses; network (not_found for a missing file:// file) when the transfer fails, also
    // half-way through a body; the sink's own error when a write fails.
    Result<Response> send(const Request& request, const BodyTarget& target);
    Result<Response> send(const Request& request, common::io::Sink& body);

private:
    struct Impl;
    Impl* m_impl;
};

// "OK", "Not Found", ...: for messages.
std::string_view reason_phrase(long status);
// "HTTP 401 Unauthorized".
std::string describe_status(long status);
// The URL a Location header names, resolved against the URL that answered.
Result<std::string> resolve_location(const std::string& base, const std::string& location);
// "host[:port]" of an http(s) URL (lower case; the port only when given).
std::string url_authority(std::string_view url);

} // namespace bundler::http
