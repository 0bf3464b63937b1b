// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include "scratch.hpp"

#include <common/manifest/binaries_lock.hpp>
#include <common/manifest/manifests.hpp>
#include <common/manifest/target.hpp>

using common::Errc;
using common::manifest::BinariesLock;
using common::manifest::load_manifests;

TEST_SUITE_BEGIN("foundation");

namespace {

const char* k_profile = R"(name: p
version: 1.0.0
platforms:
  - {os: debian, release: "12", arch: amd64}
components: [c]
roles:
  master:
    phases: [preflight, store, binaries]
    minima: {cpus: 4, memory_gb: 8, disk_gb: 50}
  worker:
    phases: [preflight, store, binaries]
)";

const char* k_component = R"(name: c
binaries:
  - name: tool
    url: http://example.invalid/tool
files:
  - name: conf
    url: http://example.invalid/conf
    install: /etc/c/conf
    mode: "0600"
    roles: [master]
)";

void write_tree(const Scratch& s, const std::string& profile, const std::string& component)
{
    s.write("manifests/profiles/p.yaml", profile);
    s.write("manifests/components/c.yaml", component);
}

std::string replace(std::string text, const std::string& from, const std::string& to)
{
    auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    return text.replace(at, from.size(), to);
}

} // namespace

TEST_CASE("load_manifests reads a profile and its components")
{
    Scratch s;
    write_tree(s, k_profile, k_component);
    auto m = load_manifests(s / "manifests", "p");
    REQUIRE(m);
    CHECK(m->profile.version == "1.0.0");
    CHECK(m->profile.roles.at("master").minima.cpus == 4);
    CHECK(m->profile.roles.at("worker").minima.memory_gb == 4); // seed 002 default
    REQUIRE(m->components.size() == 1);
    const auto& files = m->components[0].files;
    REQUIRE(files.size() == 2);
    CHECK(files[0].install == "/usr/local/bin/tool");
    CHECK(files[0].mode == 0755);
    CHECK(files[1].mode == 0600);
    CHECK(files[1].roles == std::vector<std::string>{"master"});
}

TEST_CASE("manifest errors name the file - the line and the field")
{
    Scratch s;
    struct Case {
        std::string name, profile, component, expect;
    };
    std::vector<Case> cases{
        {"unknown field", k_profile, replace(k_component, "    install: /etc/c/conf", "    instal: /etc/c/conf"),
         "c.yaml:8: field 'files[0].instal': unknown field"},
        {"bad mode", k_profile, replace(k_component, "\"0600\"", "\"rw\""), "c.yaml:9: field 'files[0].mode'"},
        {"relative install", k_profile, replace(k_component, "/etc/c/conf", "etc/../conf"), "c.yaml:8: field 'files[0].install'"},
        {"missing url", k_profile, replace(k_component, "    url: http://example.invalid/tool\n", ""),
         "c.yaml:3: field 'binaries[0].url': missing"},
        {"unknown phase", replace(k_profile, "[preflight, store, binaries]\n    minima", "[preflight, stor]\n    minima"), k_component,
         "p.yaml:8: field 'roles.master.phases': unknown phase 'stor'"},
        {"phase order", replace(k_profile, "[preflight, store, binaries]\n    minima", "[binaries, store]\n    minima"), k_component,
         "out of order"},
        {"unknown role in file", k_profile, replace(k_component, "roles: [master]", "roles: [gpu]"), "role 'gpu' is not a role"},
        {"yaml syntax", replace(k_profile, "version: 1.0.0", "version: [1.0.0"), k_component, "p.yaml:"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.name);
        write_tree(s, c.profile, c.component);
        auto m = load_manifests(s / "manifests", "p");
        REQUIRE(!m);
        CHECK(m.error().code == Errc::invalid_argument);
        CAPTURE(m.error().message);
        CHECK(m.error().message.find(c.expect) != std::string::npos);
    }
}

TEST_CASE("a missing profile or component is not_found")
{
    Scratch s;
    write_tree(s, k_profile, k_component);
    CHECK(load_manifests(s / "manifests", "nope").error().code == Errc::not_found);
    std::filesystem::remove(s / "manifests/components/c.yaml");
    CHECK(load_manifests(s / "manifests", "p").error().code == Errc::not_found);
}

TEST_CASE("BinariesLock round-trips and rejects a bad pin with its line")
{
    Scratch s;
    BinariesLock lock;
    lock.pins.push_back({"http://b/x", "x", {common::digest::sha256_of("x"), 1}, "test"});
    lock.pins.push_back({"http://a/y", "y", {common::digest::sha256_of("yy"), 2}, "test"});
    s.write("binaries.lock", lock.to_yaml());
    auto back = BinariesLock::load(s / "binaries.lock");
    REQUIRE(back);
    REQUIRE(back->pins.size() == 2);
    CHECK(back->pins[0].url == "http://a/y"); // sorted
    CHECK(back->find("http://b/x")->blob.digest == common::digest::sha256_of("x"));

    s.write("bad.lock", "version: 1\nbinaries:\n  - url: http://a\n    name: a\n    size: 1\n    sha256: nothex\n");
    auto bad = BinariesLock::load(s / "bad.lock");
    REQUIRE(!bad);
    CHECK(bad.error().message.find("bad.lock:6: field 'binaries[0].sha256'") != std::string::npos);
    CHECK(BinariesLock::load(s / "absent.lock").value().pins.empty());
}

TEST_CASE("a published sha256 needs its source and is kept as a digest")
{
    Scratch s;
    std::string hex = common::digest::sha256_of("tool").hex();
    std::string with = replace(k_component, "    url: http://example.invalid/tool\n",
                               "    url: http://example.invalid/tool\n    sha256: " + hex + "\n    sha256_source: vendor SHA256SUMS\n");
    write_tree(s, k_profile, with);
    auto m = load_manifests(s / "manifests", "p");
    REQUIRE(m);
    const auto& f = m->components[0].files[0];
    REQUIRE(f.published_sha256);
    CHECK(f.published_sha256->hex() == hex);
    CHECK(f.published_source == "vendor SHA256SUMS");

    write_tree(s, k_profile, replace(with, "    sha256_source: vendor SHA256SUMS\n", ""));
    auto missing = load_manifests(s / "manifests", "p");
    REQUIRE(!missing);
    CHECK(missing.error().message.find("sha256_source") != std::string::npos);
}

TEST_CASE("every shipped profile and target manifest loads")
{
    namespace fs = std::filesystem;
    fs::path dir = fs::path(PI_SOURCE_DIR) / "manifests";
    std::size_t profiles = 0, targets = 0;
    for (const auto& e : fs::directory_iterator(dir / "profiles")) {
        CAPTURE(e.path().string());
        CHECK(load_manifests(dir, e.path().stem().string()));
        ++profiles;
    }
    for (const auto& e : fs::directory_iterator(dir / "targets")) {
        CAPTURE(e.path().string());
        auto t = common::manifest::load_target(dir, e.path().stem().string());
        REQUIRE(t);
        CHECK(!t->sources.empty());
        ++targets;
    }
    CHECK(profiles >= 1);
    CHECK(targets >= 3);
}

TEST_SUITE_END();
