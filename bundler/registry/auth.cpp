// SPDX-License-Identifier: Apache-2.0
#include <bundler/registry/auth.hpp>

#include <common/util/base64.hpp>

#include <common/io/file.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace bundler::registry {

using common::Errc;
using common::fail;

namespace {

std::string lower(std::string_view s)
{
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

bool token_char(char c)
{
    return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~/").find(c) != std::string_view::npos;
}

// A cursor over a header value, RFC 7235's grammar: challenge = scheme [ 1*SP ( token68 / #auth-param ) ].
struct Scanner {
    std::string_view s;
    std::size_t i = 0;

    void skip_space()
    {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    }
    bool at_end() const { return i >= s.size(); }
    std::string_view token()
    {
        std::size_t start = i;
        while (i < s.size() && token_char(s[i])) ++i;
        return s.substr(start, i - start);
    }
    Result<std::string> quoted()
    {
        std::string out;
        for (++i; i < s.size(); ++i) {
            if (s[i] == '"') {
                ++i;
                return out;
            }
            if (s[i] == '\\' && i + 1 < s.size()) ++i;
            out += s[i];
        }
        return fail(Errc::invalid_argument, "unterminated quoted string");
    }
};

} // namespace

Result<std::vector<Challenge>> parse_www_authenticate(std::string_view value)
{
    auto bad = [&](std::string_view why) { return fail(Errc::invalid_argument, "WWW-Authenticate '{}': {}", value, why); };
    std::vector<Challenge> out;
    Scanner sc{value};
    while (true) {
        sc.skip_space();
        while (!sc.at_end() && sc.s[sc.i] == ',') {
            ++sc.i;
            sc.skip_space();
        }
        if (sc.at_end()) break;
        std::string_view name = sc.token();
        if (name.empty()) return bad(fmt::format("unexpected '{}'", sc.s[sc.i]));
        sc.skip_space();
        if (!sc.at_end() && sc.s[sc.i] == '=') {
            // A parameter of the current challenge.
            if (out.empty()) return bad("a parameter before any scheme");
            ++sc.i;
            sc.skip_space();
            std::string v;
            if (!sc.at_end() && sc.s[sc.i] == '"') {
                auto q = sc.quoted();
                if (!q) return bad(q.error().message);
                v = std::move(*q);
            } else {
                v = std::string(sc.token());
            }
            out.back().params[lower(name)] = std::move(v);
            sc.skip_space();
            if (!sc.at_end() && sc.s[sc.i] != ',') return bad(fmt::format("expected ',' after parameter '{}'", name));
            continue;
        }
        out.push_back(Challenge{lower(name), {}}); // a new scheme
    }
    if (out.empty()) return bad("no challenge");
    return out;
}

std::string credential_host(std::string_view key)
{
    std::string_view k = key;
    if (std::size_t p = k.find("://"); p != std::string_view::npos) k.remove_prefix(p + 3);
    if (std::size_t p = k.find('/'); p != std::string_view::npos) k = k.substr(0, p);
    std::string host = lower(k);
    if (host == "index.docker.io" || host == "registry-1.docker.io" || host == "registry.hub.docker.com") return "docker.io";
    return host;
}

void CredentialStore::put(std::string_view host, Credentials credentials)
{
    m_entries[credential_host(host)] = std::move(credentials);
}

const Credentials* CredentialStore::find(std::string_view host) const
{
    auto it = m_entries.find(credential_host(host));
    return it == m_entries.end() ? nullptr : &it->second;
}

Result<void> parse_docker_config(std::string_view text, const std::string& origin, CredentialStore& store)
{
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);
    } catch (const std::exception& e) {
        return fail(Errc::invalid_argument, "read {}: not JSON: {}", origin, e.what());
    }
    if (!j.is_object()) return fail(Errc::invalid_argument, "read {}: not a JSON object", origin);
    if (!j.contains("auths")) return {};
    if (!j.at("auths").is_object()) return fail(Errc::invalid_argument, "read {}: 'auths' is not an object", origin);
    for (const auto& [key, entry] : j.at("auths").items()) {
        if (!entry.is_object()) return fail(Errc::invalid_argument, "read {}: auths.{} is not an object", origin, key);
        Credentials c{"", "", origin};
        if (entry.contains("auth") && entry.at("auth").is_string() && !entry.at("auth").get<std::string>().empty()) {
            auto decoded = common::base64_decode(entry.at("auth").get<std::string>());
            std::size_t colon = decoded ? decoded->find(':') : std::string::npos;
            if (colon == std::string::npos)
                return fail(Errc::invalid_argument, "read {}: auths.{}.auth is not base64 of 'user:password'", origin, key);
            c.username = decoded->substr(0, colon);
            c.password = decoded->substr(colon + 1);
        } else if (entry.contains("username") && entry.at("username").is_string() && entry.contains("password") &&
                   entry.at("password").is_string()) {
            c.username = entry.at("username").get<std::string>();
            c.password = entry.at("password").get<std::string>();
        } else {
            continue; // identitytoken or a credential helper: not supported, so not used
        }
        store.put(key, std::move(c));
    }
    return {};
}

std::filesystem::path docker_config_path()
{
    if (const char* dir = std::getenv("DOCKER_CONFIG"); dir && *dir) return std::filesystem::path(dir) / "config.json";
    const char* home = std::getenv("HOME");
    return std::filesystem::path(home && *home ? home : "/") / ".docker" / "config.json";
}

Result<void> load_docker_config(CredentialStore& store)
{
    std::filesystem::path path = docker_config_path();
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return {};
    auto text = common::io::read_file(path);
    if (!text) return fail(text.error());
    return parse_docker_config(*text, path.string(), store);
}

Result<void> add_registry_auth(std::string_view spec, CredentialStore& store)
{
    std::size_t eq = spec.find('=');
    std::size_t colon = spec.find(':', eq == std::string_view::npos ? 0 : eq);
    // A host may carry a port ("127.0.0.1:5000=user:/path"): the user is between '=' and the next ':'.
    if (eq == std::string_view::npos || eq == 0 || colon == std::string_view::npos || colon == eq + 1 || colon + 1 == spec.size())
        return fail(Errc::invalid_argument, "--registry-auth '{}': want HOST=USER:PASSWORD_FILE", spec);
    std::string host(spec.substr(0, eq));
    std::string file(spec.substr(colon + 1));
    auto text = common::io::read_file(file, 64 * 1024);
    if (!text) return fail(text.error().wrap(fmt::format("--registry-auth {}: read the password file", host)));
    std::string password = text->substr(0, text->find('\n'));
    if (!password.empty() && password.back() == '\r') password.pop_back();
    if (password.empty()) return fail(Errc::invalid_argument, "--registry-auth {}: the password file {} is empty", host, file);
    store.put(host, Credentials{std::string(spec.substr(eq + 1, colon - eq - 1)), password, "--registry-auth " + host});
    return {};
}

std::string basic_authorization(const Credentials& c) { return "Basic " + common::base64_encode(c.username + ":" + c.password); }

} // namespace bundler::registry
