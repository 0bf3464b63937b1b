// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>

#include <common/util/error.hpp>

namespace installer::system {

// GET of an http:// URL whose host is an IP literal ("http://127.0.0.1:5000/v2/", "http://[::1]:5000/"):
// the response's status code. The installer is linked statically and never resolves a host name, so a
// name is refused (invalid_argument); network when nothing answers within the timeout.
common::Result<int> http_status(std::string_view url, std::chrono::milliseconds timeout);

// The same GET: the status and the response's header fields (names lower-cased; the last of a repeated one).
struct HttpHead {
    int status = 0;
    std::map<std::string, std::string> headers;
};
common::Result<HttpHead> http_head(std::string_view url, std::chrono::milliseconds timeout);

// Whether a TCP connection to IP:PORT (IP literal) opens within the timeout: ok, or network naming why.
common::Result<void> tcp_connect(std::string_view ip, int port, std::chrono::milliseconds timeout);

} // namespace installer::system
