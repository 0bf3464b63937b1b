// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <bundler/build/builder.hpp>

using bundler::fetch::apply_mirrors;
using bundler::fetch::Mirror;
using common::Errc;

TEST_SUITE_BEGIN("foundation");

TEST_CASE("apply_mirrors rewrites by host or by URL prefix")
{
    std::vector<Mirror> m{Mirror::parse("github.com=http://127.0.0.1:8080/gh/").value(),
                          Mirror::parse("https://get.helm.sh/helm=http://127.0.0.1:9000").value()};
    CHECK(apply_mirrors("https://github.com/k3s-io/k3s/releases/download/v1/k3s", m) ==
          "http://127.0.0.1:8080/gh/k3s-io/k3s/releases/download/v1/k3s");
    CHECK(apply_mirrors("https://get.helm.sh/helm-v3.tar.gz", m) == "https://get.helm.sh/helm-v3.tar.gz");
    CHECK(apply_mirrors("https://get.helm.sh/helm/x", m) == "http://127.0.0.1:9000/x");
    CHECK(apply_mirrors("https://github.company.com/x", m) == "https://github.company.com/x");
    CHECK(!Mirror::parse("no-equals"));
}

namespace {

common::manifest::Manifests manifests_with(std::vector<common::manifest::FileSpec> files)
{
    common::manifest::Manifests m;
    m.profile.name = "p";
    m.profile.version = "1";
    m.profile.platforms = {{"debian", "12", "amd64"}};
    m.profile.roles["master"].phases = {"preflight", "store", "binaries"};
    m.profile.roles["worker"].phases = {"preflight", "store", "binaries"};
    m.components.push_back({"c", "", std::move(files), "c.yaml"});
    return m;
}

common::manifest::FileSpec spec(std::string name, std::string url, std::string install)
{
    common::manifest::FileSpec f;
    f.name = std::move(name);
    f.url = std::move(url);
    f.install = std::move(install);
    f.where = "c.yaml:1";
    return f;
}

} // namespace

TEST_CASE("plan_bundle refuses what the lock does not pin")
{
    common::manifest::BinariesLock lock;
    auto r = bundler::build::plan_bundle(manifests_with({spec("k3s", "http://x/k3s", "/usr/local/bin/k3s")}), lock, {}, 0);
    REQUIRE(!r);
    CHECK(r.error().code == Errc::failed_precondition);
    CHECK(r.error().message.find("http://x/k3s") != std::string::npos);
}

TEST_CASE("plan_bundle refuses a pin that differs from the published checksum")
{
    common::manifest::BinariesLock lock;
    lock.pins.push_back({"http://x/k3s", "k3s", {common::digest::sha256_of("k3s"), 3}, "t"});
    auto f = spec("k3s", "http://x/k3s", "/usr/local/bin/k3s");
    f.published_sha256 = common::digest::sha256_of("other");
    auto r = bundler::build::plan_bundle(manifests_with({f}), lock, {}, 0);
    REQUIRE(!r);
    CHECK(r.error().code == Errc::digest_mismatch);
}

TEST_CASE("plan_bundle stores a blob shared by two files once - and refuses two files on one path")
{
    common::manifest::BinariesLock lock;
    lock.pins.push_back({"http://x/a", "a", {common::digest::sha256_of("same"), 4}, "t"});
    lock.pins.push_back({"http://y/a", "a", {common::digest::sha256_of("same"), 4}, "t"});
    auto ok = bundler::build::plan_bundle(
        manifests_with({spec("a", "http://x/a", "/usr/local/bin/a"), spec("b", "http://y/a", "/usr/local/bin/b")}), lock, {}, 0);
    REQUIRE(ok);
    CHECK(ok->files.size() == 2);
    CHECK(ok->blobs.size() == 1);
    auto clash = bundler::build::plan_bundle(
        manifests_with({spec("a", "http://x/a", "/usr/local/bin/a"), spec("b", "http://y/a", "/usr/local/bin/a")}), lock, {}, 0);
    REQUIRE(!clash);
    CHECK(clash.error().message.find("/usr/local/bin/a") != std::string::npos);
}

TEST_CASE("BundleIndex JSON round-trips and refuses unsafe install paths")
{
    common::manifest::BinariesLock lock;
    lock.pins.push_back({"http://x/a", "a", {common::digest::sha256_of("a"), 1}, "t"});
    auto idx = bundler::build::plan_bundle(manifests_with({spec("a", "http://x/a", "/usr/local/bin/a")}), lock, {}, 42);
    REQUIRE(idx);
    std::string json = idx->to_json();
    auto back = common::bundle::BundleIndex::parse(json);
    REQUIRE(back);
    CHECK(back->to_json() == json);
    CHECK(back->created == 42);
    std::string evil = json;
    evil.replace(evil.find("/usr/local/bin/a"), 16, "/usr/../../etc/x");
    auto refused = common::bundle::BundleIndex::parse(evil);
    REQUIRE(!refused);
    CHECK(refused.error().message.find("/usr/../../etc/x") != std::string::npos);
}

TEST_SUITE_END();
