// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <common/oci/image_manifest.hpp>
#include <common/oci/reference.hpp>

using common::Errc;
using common::oci::Reference;

TEST_SUITE_BEGIN("images");

namespace {
const std::string k_hex = "3c199893134ab23989f92c1a41ce84e8917233fb6da9ce1d24eb131e50cc9344";
}

TEST_CASE("Reference::parse normalises as Docker does")
{
    struct Case {
        std::string text, domain, path, tag, str;
    };
    std::vector<Case> cases{
        {"busybox", "docker.io", "library/busybox", "latest", "docker.io/library/busybox:latest"},
        {"busybox:1.36", "docker.io", "library/busybox", "1.36", "docker.io/library/busybox:1.36"},
        {"library/busybox", "docker.io", "library/busybox", "latest", "docker.io/library/busybox:latest"},
        {"docker.io/busybox", "docker.io", "library/busybox", "latest", "docker.io/library/busybox:latest"},
        {"index.docker.io/x", "docker.io", "library/x", "latest", "docker.io/library/x:latest"},
        {"index.docker.io/org/x:2", "docker.io", "org/x", "2", "docker.io/org/x:2"},
        {"localhost/a", "localhost", "a", "latest", "localhost/a:latest"},
        {"localhost:5000/a/b:t", "localhost:5000", "a/b", "t", "localhost:5000/a/b:t"},
        {"ghcr.io/org/app:v1.2.3-rc_1", "ghcr.io", "org/app", "v1.2.3-rc_1", "ghcr.io/org/app:v1.2.3-rc_1"},
        {"nvcr.io/nvidia/k8s-device-plugin:v0.17.0", "nvcr.io", "nvidia/k8s-device-plugin", "v0.17.0",
         "nvcr.io/nvidia/k8s-device-plugin:v0.17.0"},
        {"a__b/c-d.e:T", "docker.io", "a__b/c-d.e", "T", "docker.io/a__b/c-d.e:T"},
        {"[::1]:5000/a:b", "[::1]:5000", "a", "b", "[::1]:5000/a:b"},
        {"my-reg.example.com/x/y", "my-reg.example.com", "x/y", "latest", "my-reg.example.com/x/y:latest"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.text);
        auto r = Reference::parse(c.text);
        REQUIRE(r);
        CHECK(r->domain == c.domain);
        CHECK(r->path == c.path);
        CHECK(r->tag == c.tag);
        CHECK(!r->digest);
        CHECK(r->str() == c.str);
        CHECK(r->manifest_ref() == c.tag);
    }
}

TEST_CASE("Reference::parse keeps a digest - with or without a tag")
{
    auto by_digest = Reference::parse("busybox@sha256:" + k_hex);
    REQUIRE(by_digest);
    CHECK(by_digest->name() == "docker.io/library/busybox");
    CHECK(by_digest->tag.empty()); // no "latest" when a digest names the image
    REQUIRE(by_digest->digest);
    CHECK(by_digest->manifest_ref() == "sha256:" + k_hex);
    CHECK(by_digest->str() == "docker.io/library/busybox@sha256:" + k_hex);

    auto both = Reference::parse("127.0.0.1:5000/team/app:1.0@sha256:" + k_hex);
    REQUIRE(both);
    CHECK(both->domain == "127.0.0.1:5000");
    CHECK(both->tag == "1.0");
    CHECK(both->manifest_ref() == "sha256:" + k_hex); // the digest wins over the tag
    CHECK(both->str() == "127.0.0.1:5000/team/app:1.0@sha256:" + k_hex);
}

TEST_CASE("Reference::parse refuses what Docker refuses - saying why")
{
    struct Case {
        std::string text, expect;
    };
    std::vector<Case> cases{
        {"", "empty"},
        {"Busybox", "not a valid repository name"},
        {"docker.io/Library/busybox", "not a valid repository name"},
        {"busybox:", "not a valid tag"},
        {"busybox:-bad", "not a valid tag"},
        {"busybox:a/b", "not a valid registry host"}, // a ":" before a "/" is a port, and "a" is none
        {"busybox:" + std::string(129, 'a'), "not a valid tag"},
        {"busybox@sha256:abc", "digest must be sha256"},
        {"busybox@md5:" + k_hex, "digest must be sha256"},
        {"a//b", "not a valid repository name"},
        {"a/b-/c", "not a valid repository name"},
        {"ghcr.io/", "no repository name"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.text);
        auto r = Reference::parse(c.text);
        REQUIRE(!r);
        CHECK(r.error().code == Errc::invalid_argument);
        CAPTURE(r.error().message);
        CHECK(r.error().message.find(c.expect) != std::string::npos);
        CHECK(r.error().message.find("image reference '" + c.text + "'") != std::string::npos);
    }
}

TEST_CASE("registry_url: docker.io is registry-1.docker.io - loopback is plain http")
{
    CHECK(common::oci::registry_url("docker.io") == "https://registry-1.docker.io");
    CHECK(common::oci::registry_url("ghcr.io") == "https://ghcr.io");
    CHECK(common::oci::registry_url("registry.local:5000") == "https://registry.local:5000");
    CHECK(common::oci::registry_url("localhost:5000") == "http://localhost:5000");
    CHECK(common::oci::registry_url("127.0.0.1:5000") == "http://127.0.0.1:5000");
    CHECK(common::oci::registry_url("[::1]:5000") == "http://[::1]:5000");
}

TEST_SUITE_END();
