// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include "scratch.hpp"

#include <bundler/http/http_client.hpp>
#include <bundler/registry/auth.hpp>
#include <common/util/base64.hpp>
#include <bundler/registry/registry_client.hpp>

using common::Errc;
namespace registry = bundler::registry;
namespace http = bundler::http;

TEST_SUITE_BEGIN("images");

TEST_CASE("parse_www_authenticate reads Docker Hub's bearer challenge")
{
    auto r = registry::parse_www_authenticate(
        R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull")");
    REQUIRE(r);
    REQUIRE(r->size() == 1);
    CHECK((*r)[0].scheme == "bearer");
    CHECK((*r)[0].params.at("realm") == "https://auth.docker.io/token");
    CHECK((*r)[0].params.at("service") == "registry.docker.io");
    CHECK((*r)[0].params.at("scope") == "repository:library/busybox:pull");
}

TEST_CASE("parse_www_authenticate: quoted commas - escapes - spaces - tokens and several challenges")
{
    auto r = registry::parse_www_authenticate(
        R"(Bearer realm="https://a.example/token?x=1,2" , Service=reg, scope="repository:a/b:pull,push", error="say \"no\"", Basic realm="basic, realm")");
    REQUIRE(r);
    REQUIRE(r->size() == 2);
    const registry::Challenge& bearer = (*r)[0];
    CHECK(bearer.scheme == "bearer");
    CHECK(bearer.params.at("realm") == "https://a.example/token?x=1,2");
    CHECK(bearer.params.at("service") == "reg"); // parameter names are case-insensitive
    CHECK(bearer.params.at("scope") == "repository:a/b:pull,push");
    CHECK(bearer.params.at("error") == "say \"no\"");
    CHECK((*r)[1].scheme == "basic");
    CHECK((*r)[1].params.at("realm") == "basic, realm");

    auto basic = registry::parse_www_authenticate("Basic realm=pitest");
    REQUIRE(basic);
    CHECK(basic->at(0).params.at("realm") == "pitest");
}

TEST_CASE("parse_www_authenticate refuses malformed challenges")
{
    for (std::string bad : {"", "realm=\"x\"", "Bearer realm=\"unterminated", "Bearer realm=\"x\" service=\"y\"", "Bearer ="}) {
        CAPTURE(bad);
        auto r = registry::parse_www_authenticate(bad);
        REQUIRE(!r);
        CHECK(r.error().code == Errc::invalid_argument);
    }
}

TEST_CASE("Docker config auths: the base64 auth form and username/password - hosts folded")
{
    registry::CredentialStore store;
    std::string config = R"({
      "auths": {
        "https://index.docker.io/v1/": {"auth": ")" + common::base64_encode("hub:pa:ss") + R"("},
        "127.0.0.1:5000": {"username": "u", "password": "p"},
        "http://reg.local:8080/v2/": {"auth": ")" + common::base64_encode("r:q") + R"("},
        "helper.example": {"identitytoken": "abc"}
      },
      "credsStore": "desktop"
    })";
    REQUIRE(registry::parse_docker_config(config, "config.json", store));
    const registry::Credentials* hub = store.find("registry-1.docker.io");
    REQUIRE(hub);
    CHECK(hub->username == "hub");
    CHECK(hub->password == "pa:ss"); // only the first ':' separates
    CHECK(hub->origin == "config.json");
    CHECK(store.find("docker.io") == hub);
    REQUIRE(store.find("127.0.0.1:5000"));
    CHECK(store.find("127.0.0.1:5000")->password == "p");
    REQUIRE(store.find("reg.local:8080"));
    CHECK(store.find("reg.local:8080")->username == "r");
    CHECK(!store.find("reg.local"));         // another port is another registry
    CHECK(!store.find("helper.example"));    // identity tokens are not supported: no credentials
}

TEST_CASE("Docker config: a bad auth is refused naming the entry - never its content")
{
    registry::CredentialStore store;
    auto r = registry::parse_docker_config(R"({"auths": {"reg.local": {"auth": "bm8tY29sb24="}}})", "cfg", store); // "no-colon"
    REQUIRE(!r);
    CHECK(r.error().code == Errc::invalid_argument);
    CHECK(r.error().message.find("auths.reg.local.auth") != std::string::npos);
    CHECK(r.error().message.find("no-colon") == std::string::npos);
    CHECK(!registry::parse_docker_config("[1]", "cfg", store));
    CHECK(!registry::parse_docker_config(R"({"auths": {"x": {"auth": "!!!"}}})", "cfg", store));
    CHECK(registry::parse_docker_config(R"({"credHelpers": {}})", "cfg", store)); // no auths: nothing to add
}

TEST_CASE("--registry-auth HOST=USER:PASSWORD_FILE reads the password from the file")
{
    Scratch s;
    auto pw = s.write("pw", "s3cret\n");
    registry::CredentialStore store;
    REQUIRE(registry::add_registry_auth("127.0.0.1:5000=alice:" + pw.string(), store));
    const registry::Credentials* c = store.find("127.0.0.1:5000");
    REQUIRE(c);
    CHECK(c->username == "alice");
    CHECK(c->password == "s3cret");
    CHECK(c->origin == "--registry-auth 127.0.0.1:5000");
    CHECK(registry::basic_authorization(*c) == "Basic " + common::base64_encode("alice:s3cret"));

    CHECK(registry::add_registry_auth("host=user", store).error().code == Errc::invalid_argument);
    CHECK(registry::add_registry_auth("=user:" + pw.string(), store).error().code == Errc::invalid_argument);
    CHECK(!registry::add_registry_auth("host=user:" + (s / "missing").string(), store));
    auto empty = s.write("empty", "\n");
    CHECK(registry::add_registry_auth("host=user:" + empty.string(), store).error().code == Errc::invalid_argument);
}

TEST_CASE("base64 round trip")
{
    for (std::string text : {"", "a", "ab", "abc", "abcd", "user:pässword"}) {
        CAPTURE(text);
        auto back = common::base64_decode(common::base64_encode(text));
        REQUIRE(back);
        CHECK(*back == text);
    }
    CHECK(common::base64_encode("pitest:s3cret-pw") == "cGl0ZXN0OnMzY3JldC1wdw==");
    CHECK(!common::base64_decode("a"));
}

TEST_CASE("retry_delay doubles - is capped - and honours Retry-After seconds")
{
    registry::RetryPolicy p;
    p.first_delay = std::chrono::milliseconds(100);
    p.max_delay = std::chrono::milliseconds(1000);
    CHECK(registry::retry_delay(p, 1, std::nullopt).count() == 100);
    CHECK(registry::retry_delay(p, 2, std::nullopt).count() == 200);
    CHECK(registry::retry_delay(p, 10, std::nullopt).count() == 1000);
    p.max_delay = std::chrono::milliseconds(30000);
    CHECK(registry::retry_delay(p, 1, "2").count() == 2000);
    CHECK(registry::retry_delay(p, 1, "3600").count() == 30000);                      // capped
    CHECK(registry::retry_delay(p, 1, "Wed, 21 Oct 2015 07:28:00 GMT").count() == 100); // a date: our own backoff
    CHECK(registry::transient_status(429));
    CHECK(registry::transient_status(503));
    CHECK(!registry::transient_status(404));
    CHECK(!registry::transient_status(401));
}

TEST_CASE("registry errors and statuses read as an operator needs them")
{
    CHECK(registry::registry_error_text(R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]})") ==
          "MANIFEST_UNKNOWN: manifest unknown");
    CHECK(registry::registry_error_text("not json").empty());
    CHECK(http::describe_status(401) == "HTTP 401 Unauthorized");
    CHECK(http::describe_status(599) == "HTTP 599");
}

TEST_CASE("redirect targets: relative locations resolve - the authority decides whether credentials follow")
{
    CHECK(http::resolve_location("http://127.0.0.1:5000/v2/a/blobs/x", "/storage/x?sig=1").value() ==
          "http://127.0.0.1:5000/storage/x?sig=1");
    CHECK(http::resolve_location("https://reg.example/v2/a/blobs/x", "https://cdn.example/x").value() == "https://cdn.example/x");
    CHECK(http::url_authority("https://User:pw@Reg.Example:8443/v2/") == "reg.example:8443");
    CHECK(http::url_authority("http://127.0.0.1:5000") == "127.0.0.1:5000");
    CHECK(http::url_authority("http://localhost:5000/x") != http::url_authority("http://127.0.0.1:5000/x"));
}

TEST_CASE("RegistryClient::endpoint: --mirror by registry domain - docker.io aliases - host or URL prefix")
{
    auto mirror = [](const char* spec) { return bundler::fetch::Mirror::parse(spec).value(); };
    registry::RegistryOptions o;
    o.mirrors = {mirror("docker.io=http://127.0.0.1:5000/"), mirror("ghcr.io=http://127.0.0.1:6000")};
    registry::RegistryClient client(o);
    CHECK(client.endpoint("docker.io") == "http://127.0.0.1:5000");
    CHECK(client.endpoint("ghcr.io") == "http://127.0.0.1:6000");
    CHECK(client.endpoint("quay.io") == "https://quay.io");

    registry::RegistryOptions by_host;
    by_host.mirrors = {mirror("registry-1.docker.io=http://127.0.0.1:5001")};
    CHECK(registry::RegistryClient(by_host).endpoint("docker.io") == "http://127.0.0.1:5001");
    registry::RegistryOptions by_prefix;
    by_prefix.mirrors = {mirror("https://quay.io=http://127.0.0.1:7000/quay")};
    CHECK(registry::RegistryClient(by_prefix).endpoint("quay.io") == "http://127.0.0.1:7000/quay");
}

TEST_SUITE_END();
