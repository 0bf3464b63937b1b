// SPDX-License-Identifier: Apache-2.0
// Registry credentials and challenges: WWW-Authenticate parsing (RFC 7235), the `auths` of a Docker
// client config (~/.docker/config.json: base64 "auth" or "username"/"password"), and
// `--registry-auth HOST=USER:PASSWORD_FILE`. Passwords live only here and in Authorization headers:
// no message ever carries one.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <common/util/error.hpp>

namespace bundler::registry {

using common::Result;

// One challenge: `Bearer realm="https://auth.docker.io/token",service="registry.docker.io"`.
struct Challenge {
    std::string scheme;                        // lower case: "basic", "bearer"
    std::map<std::string, std::string> params; // keys lower case; values unquoted
};

// Every challenge in a WWW-Authenticate value (quoted strings may hold commas and \" escapes);
// invalid_argument when it is malformed.
Result<std::vector<Challenge>> parse_www_authenticate(std::string_view value);

struct Credentials {
    std::string username;
    std::string password;
    std::string origin; // where they came from, for messages: "--registry-auth", "/root/.docker/config.json"
};

// The host a credential entry is for: scheme, path and "index.docker.io" style aliases folded, so that
// "https://index.docker.io/v1/", "registry-1.docker.io" and "docker.io" are one key.
std::string credential_host(std::string_view key);

class CredentialStore {
public:
    // Later entries for the same host replace earlier ones (--registry-auth after the config file).
    void put(std::string_view host, Credentials credentials);
    // The credentials for a registry host ("127.0.0.1:5000", "registry-1.docker.io"), if any.
    const Credentials* find(std::string_view host) const;
    bool empty() const { return m_entries.empty(); }

private:
    std::map<std::string, Credentials> m_entries;
};

// Adds the `auths` of a Docker config document (JSON) to `store`; invalid_argument naming `origin` and
// the entry when an `auth` is not base64 of "user:password". Entries without credentials (credential
// helpers, identity tokens) are skipped.
Result<void> parse_docker_config(std::string_view json, const std::string& origin, CredentialStore& store);
// The Docker config path: $DOCKER_CONFIG/config.json, else $HOME/.docker/config.json.
std::filesystem::path docker_config_path();
// Loads docker_config_path() into `store` when the file exists.
Result<void> load_docker_config(CredentialStore& store);
// `HOST=USER:PASSWORD_FILE` (the password is the file's first line): added to `store`.
Result<void> add_registry_auth(std::string_view spec, CredentialStore& store);

// "Basic <base64(user:password)>".
std::string basic_authorization(const Credentials& c);

} // namespace bundler::registry
