// SPDX-License-Identifier: Apache-2.0
#include <common/deb/version.hpp>

#include <cctype>

namespace common::deb {

namespace {

// dpkg's order(): digits are handled apart, '~' before the end, letters, then everything else.
int order(char c)
{
    if (std::isdigit(static_cast<unsigned char>(c))) return 0;
    if (std::isalpha(static_cast<unsigned char>(c))) return c;
    if (c == '~') return -1;
    if (c) return static_cast<unsigned char>(c) + 256;
    return 0;
}

// dpkg's verrevcmp (lib/dpkg/version.c).
int verrevcmp(std::string_view a, std::string_view b)
{
    std::size_t i = 0, j = 0;
    auto at = [](std::string_view s, std::size_t k) { return k < s.size() ? s[k] : '\0'; };
    while (i < a.size() || j < b.size()) {
        int first_diff = 0;
        while ((i < a.size() && !std::isdigit(static_cast<unsigned char>(a[i]))) ||
               (j < b.size() && !std::isdigit(static_cast<unsigned char>(b[j])))) {
            int ac = order(at(a, i));
            int bc = order(at(b, j));
            if (ac != bc) return ac - bc;
            ++i;
            ++j;
        }
        while (at(a, i) == '0') ++i;
        while (at(b, j) == '0') ++j;
        while (std::isdigit(static_cast<unsigned char>(at(a, i))) && std::isdigit(static_cast<unsigned char>(at(b, j)))) {
            if (!first_diff) first_diff = at(a, i) - at(b, j);
            ++i;
            ++j;
        }
        if (std::isdigit(static_cast<unsigned char>(at(a, i)))) return 1;
        if (std::isdigit(static_cast<unsigned char>(at(b, j)))) return -1;
        if (first_diff) return first_diff;
    }
    return 0;
}

bool allowed_upstream(char c)
{
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '+' || c == '~' || c == ':';
}

} // namespace

Result<Version> Version::parse(std::string_view text)
{
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
    if (text.empty()) return fail(Errc::invalid_argument, "version string is empty");
    Version v;
    std::string_view rest = text;
    if (std::size_t colon = rest.find(':'); colon != std::string_view::npos) {
        std::string_view epoch = rest.substr(0, colon);
        if (epoch.empty()) return fail(Errc::invalid_argument, "version '{}': epoch is empty", text);
        unsigned long e = 0;
        for (char c : epoch) {
            if (!std::isdigit(static_cast<unsigned char>(c)))
                return fail(Errc::invalid_argument, "version '{}': epoch is not a number", text);
            e = e * 10 + static_cast<unsigned long>(c - '0');
            if (e > 0x7fffffff) return fail(Errc::invalid_argument, "version '{}': epoch is too big", text);
        }
        v.epoch = e;
        rest.remove_prefix(colon + 1);
    }
    if (std::size_t dash = rest.rfind('-'); dash != std::string_view::npos) {
        v.revision = std::string(rest.substr(dash + 1));
        if (v.revision.empty()) return fail(Errc::invalid_argument, "version '{}': revision is empty", text);
        rest = rest.substr(0, dash);
    }
    if (rest.empty()) return fail(Errc::invalid_argument, "version '{}': nothing before the revision", text);
    // dpkg only warns when the upstream part does not start with a digit; it still compares.
    for (char c : rest)
        if (!allowed_upstream(c)) return fail(Errc::invalid_argument, "version '{}': invalid character '{}'", text, c);
    for (char c : v.revision)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '+' && c != '~')
            return fail(Errc::invalid_argument, "version '{}': invalid character '{}' in the revision", text, c);
    v.upstream = std::string(rest);
    return v;
}

std::string Version::str() const
{
    std::string out = epoch ? std::to_string(epoch) + ":" : "";
    out += upstream;
    if (!revision.empty()) out += "-" + revision;
    return out;
}

int compare(const Version& a, const Version& b)
{
    if (a.epoch != b.epoch) return a.epoch < b.epoch ? -1 : 1;
    if (int r = verrevcmp(a.upstream, b.upstream)) return r < 0 ? -1 : 1;
    int r = verrevcmp(a.revision, b.revision);
    return r < 0 ? -1 : r > 0 ? 1 : 0;
}

int compare_versions(std::string_view a, std::string_view b)
{
    auto va = Version::parse(a);
    auto vb = Version::parse(b);
    if (va && vb) return compare(*va, *vb);
    if (va) return -1;
    if (vb) return 1;
    return a < b ? -1 : a > b ? 1 : 0;
}

} // namespace common::deb
