// SPDX-License-Identifier: Apache-2.0
#include <installer/system/http_probe.hpp>

#include <arpa/inet.h>
#include <cerrno>
#include <cctype>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

namespace installer::system {

using common::Errc;
using common::fail;
using common::Result;

namespace {

struct Target {
    sockaddr_storage addr{};
    socklen_t len = 0;
    std::string host_header;
    std::string path;
};

Result<Target> parse(std::string_view url)
{
    if (!url.starts_with("http://")) return fail(Errc::invalid_argument, "probe {}: only http:// URLs", url);
    std::string_view rest = url.substr(7);
    std::size_t slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    Target t;
    t.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
    t.host_header = std::string(authority);
    std::string host;
    std::string port = "80";
    if (authority.starts_with('[')) {
        std::size_t close = authority.find(']');
        if (close == std::string_view::npos) return fail(Errc::invalid_argument, "probe {}: bad IPv6 literal", url);
        host = std::string(authority.substr(1, close - 1));
        if (close + 1 < authority.size() && authority[close + 1] == ':') port = std::string(authority.substr(close + 2));
    } else {
        std::size_t colon = authority.rfind(':');
        host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) port = std::string(authority.substr(colon + 1));
    }
    char* end = nullptr;
    long p = std::strtol(port.c_str(), &end, 10);
    if (*end != '\0' || p <= 0 || p > 65535) return fail(Errc::invalid_argument, "probe {}: bad port '{}'", url, port);
    auto* v4 = reinterpret_cast<sockaddr_in*>(&t.addr);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&t.addr);
    if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(static_cast<std::uint16_t>(p));
        t.len = sizeof(sockaddr_in);
    } else if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(static_cast<std::uint16_t>(p));
        t.len = sizeof(sockaddr_in6);
    } else {
        return fail(Errc::invalid_argument, "probe {}: '{}' is not an IP address (the installer never resolves names)", url, host);
    }
    return t;
}

// Waits for `events` on fd until the deadline; network on timeout.
Result<void> wait_for(int fd, short events, std::chrono::steady_clock::time_point deadline, std::string_view url)
{
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
        if (left <= 0) return fail(Errc::network, "probe {}: no answer in time", url);
        pollfd p{fd, events, 0};
        int rc = ::poll(&p, 1, static_cast<int>(left));
        if (rc > 0) return {};
        if (rc < 0 && errno != EINTR) return common::fail_errno(fmt::format("probe {}", url), errno);
    }
}

} // namespace

namespace {

// A connected, non-blocking socket to the URL's address, or network naming why not.
Result<int> connect_to(const Target& t, std::chrono::steady_clock::time_point deadline, std::string_view url)
{
    int fd = ::socket(t.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return common::fail_errno("socket", errno);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&t.addr), t.len) != 0) {
        auto done = [&]() -> Result<void> {
            if (errno != EINPROGRESS) return fail(Errc::network, "probe {}: {}", url, std::strerror(errno));
            TRY_VOID(wait_for(fd, POLLOUT, deadline, url));
            int err = 0;
            socklen_t len = sizeof(err);
            ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
            if (err != 0) return fail(Errc::network, "probe {}: {}", url, std::strerror(err));
            return {};
        }();
        if (!done) {
            ::close(fd);
            return fail(done.error());
        }
    }
    return fd;
}

} // namespace

Result<HttpHead> http_head(std::string_view url, std::chrono::milliseconds timeout)
{
    auto t = parse(url);
    if (!t) return fail(t.error());
    auto deadline = std::chrono::steady_clock::now() + timeout;
    auto connected = connect_to(*t, deadline, url);
    if (!connected) return fail(connected.error());
    int fd = *connected;
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    std::string request = fmt::format("GET {} HTTP/1.0\r\nHost: {}\r\nUser-Agent: platform-installer\r\n\r\n", t->path, t->host_header);
    for (std::size_t sent = 0; sent < request.size();) {
        TRY_VOID(wait_for(fd, POLLOUT, deadline, url));
        ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EINTR) return fail(Errc::network, "probe {}: {}", url, std::strerror(errno));
        if (n > 0) sent += static_cast<std::size_t>(n);
    }
    std::string head;
    while (head.find("\r\n\r\n") == std::string::npos && head.size() < 16384) {
        TRY_VOID(wait_for(fd, POLLIN, deadline, url));
        char buf[512];
        ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
        if (n == 0) break;
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            return fail(Errc::network, "probe {}: {}", url, std::strerror(errno));
        }
        head.append(buf, static_cast<std::size_t>(n));
    }
    // "HTTP/1.1 200 OK"
    if (!head.starts_with("HTTP/") || head.find(' ') == std::string::npos)
        return fail(Errc::network, "probe {}: not an HTTP answer", url);
    HttpHead out;
    out.status = std::atoi(head.c_str() + head.find(' ') + 1);
    head = head.substr(0, head.find("\r\n\r\n"));
    for (std::size_t at = head.find("\r\n"); at != std::string::npos;) {
        std::size_t end = head.find("\r\n", at + 2);
        std::string line = head.substr(at + 2, end == std::string::npos ? std::string::npos : end - at - 2);
        at = end;
        std::size_t colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string name = line.substr(0, colon);
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::size_t v = line.find_first_not_of(" \t", colon + 1);
        out.headers[name] = v == std::string::npos ? "" : line.substr(v);
    }
    return out;
}

Result<int> http_status(std::string_view url, std::chrono::milliseconds timeout)
{
    auto head = http_head(url, timeout);
    if (!head) return fail(head.error());
    return head->status;
}

Result<void> tcp_connect(std::string_view ip, int port, std::chrono::milliseconds timeout)
{
    bool v6 = ip.find(':') != std::string_view::npos;
    std::string url = v6 ? fmt::format("http://[{}]:{}/", ip, port) : fmt::format("http://{}:{}/", ip, port);
    auto t = parse(url);
    if (!t) return fail(t.error());
    auto fd = connect_to(*t, std::chrono::steady_clock::now() + timeout, fmt::format("{}:{}", ip, port));
    if (!fd) return fail(fd.error());
    ::close(*fd);
    return {};
}

} // namespace installer::system
