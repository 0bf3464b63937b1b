// SPDX-License-Identifier: Apache-2.0
#include <common/oci/reference.hpp>

#include <algorithm>
#include <cctype>
#include <vector>

namespace common::oci {

namespace {

bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// A path component: [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)*
bool valid_component(std::string_view c)
{
    if (c.empty() || !lower_alnum(c.front()) || !lower_alnum(c.back())) return false;
    for (std::size_t i = 0; i < c.size();) {
        if (lower_alnum(c[i])) {
            ++i;
            continue;
        }
        std::size_t j = i;
        while (j < c.size() && !lower_alnum(c[j])) ++j;
        std::string_view sep = c.substr(i, j - i);
        bool ok = sep == "." || sep == "_" || sep == "__" || std::all_of(sep.begin(), sep.end(), [](char x) { return x == '-'; });
        if (!ok) return false;
        i = j;
    }
    return true;
}

bool valid_tag(std::string_view t)
{
    auto word = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; };
    return !t.empty() && t.size() <= 128 && word(t[0]) &&
           std::all_of(t.begin(), t.end(), [&](char c) { return word(c) || c == '.' || c == '-'; });
}

// host[:port]: host is DNS labels ([A-Za-z0-9-], not starting or ending with '-') joined by '.', or an
// IPv6 address in brackets; the port is digits.
bool valid_domain(std::string_view d)
{
    std::string_view host = d;
    if (d.starts_with('[')) {
        std::size_t close = d.find(']');
        if (close == std::string_view::npos || close == 1) return false;
        std::string_view inside = d.substr(1, close - 1);
        if (!std::all_of(inside.begin(), inside.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) || c == ':'; }))
            return false;
        host = {};
        d.remove_prefix(close + 1);
        if (!d.empty() && !d.starts_with(':')) return false;
    } else {
        std::size_t colon = d.find(':');
        host = d.substr(0, colon);
        d = colon == std::string_view::npos ? std::string_view{} : d.substr(colon);
    }
    if (!d.empty()) {
        std::string_view port = d.substr(1);
        if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return false;
    }
    for (std::size_t s = 0; s < host.size();) {
        std::size_t e = std::min(host.find('.', s), host.size());
        std::string_view label = host.substr(s, e - s);
        auto ok = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-'; };
        if (label.empty() || !std::all_of(label.begin(), label.end(), ok) || label.front() == '-' || label.back() == '-') return false;
        s = e + 1;
        if (e == host.size() - 1) return false; // a trailing '.'
    }
    return true;
}

} // namespace

Result<Reference> Reference::parse(std::string_view text)
{
    auto bad = [&](std::string_view why) { return fail(Errc::invalid_argument, "image reference '{}': {}", text, why); };
    if (text.empty()) return bad("empty");
    Reference r;
    std::string_view rest = text;
    if (std::size_t at = rest.find('@'); at != std::string_view::npos) {
        auto d = digest::Digest::parse(rest.substr(at + 1));
        if (!d || !rest.substr(at + 1).starts_with("sha256:")) return bad("the digest must be sha256:<64 lowercase hex digits>");
        r.digest = *d;
        rest = rest.substr(0, at);
    }
    // A ":" after the last "/" starts the tag (a ":" before it is a domain's port).
    std::size_t slash = rest.rfind('/');
    std::size_t colon = rest.rfind(':');
    if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
        r.tag = std::string(rest.substr(colon + 1));
        if (!valid_tag(r.tag)) return bad(fmt::format("'{}' is not a valid tag", r.tag));
        rest = rest.substr(0, colon);
    }
    std::string_view name = rest;
    std::size_t first = name.find('/');
    std::string_view head = first == std::string_view::npos ? std::string_view{} : name.substr(0, first);
    if (!head.empty() && (head.find('.') != std::string_view::npos || head.find(':') != std::string_view::npos || head == "localhost")) {
        if (!valid_domain(head)) return bad(fmt::format("'{}' is not a valid registry host", head));
        r.domain = std::string(head);
        name = name.substr(first + 1);
    } else {
        r.domain = "docker.io";
    }
    if (r.domain == "index.docker.io") r.domain = "docker.io";
    if (name.empty()) return bad("no repository name");
    for (std::size_t s = 0; s <= name.size();) {
        std::size_t e = std::min(name.find('/', s), name.size());
        if (!valid_component(name.substr(s, e - s)))
            return bad(fmt::format("'{}' is not a valid repository name (lower-case letters, digits, '.', '_', '-')", name));
        s = e + 1;
    }
    r.path = std::string(name);
    if (r.domain == "docker.io" && r.path.find('/') == std::string::npos) r.path = "library/" + r.path;
    if (r.tag.empty() && !r.digest) r.tag = "latest";
    if (r.name().size() > 255) return bad("the name is longer than 255 characters");
    return r;
}

std::string Reference::str() const
{
    std::string out = name();
    if (!tag.empty()) out += ":" + tag;
    if (digest) out += "@" + digest->str();
    return out;
}

std::string registry_url(std::string_view domain)
{
    if (domain == "docker.io") return "https://registry-1.docker.io";
    // Loopback registries speak plain HTTP, as Docker's default insecure registries (127.0.0.0/8) do.
    std::string_view host = domain.substr(0, domain.starts_with('[') ? domain.find(']') + 1 : domain.find(':'));
    if (host == "localhost" || host.starts_with("127.") || host == "[::1]") return "http://" + std::string(domain);
    return "https://" + std::string(domain);
}

} // namespace common::oci
