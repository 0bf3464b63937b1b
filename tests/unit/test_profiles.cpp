// SPDX-License-Identifier: Apache-2.0
// The shipped profiles (manifests/profiles/{cpu-single,gpu-single,gpu-ha}.yaml) as the repository holds
// them: they and every component they name load, every platform has its target, every file and addon
// fetched by URL carries a published checksum with its source, and, offline with the locks as they are,
// `bundler plan` lists every artifact and names every pin still missing, grouped by component.
#include <doctest/doctest.h>

#include <bundler/build/builder.hpp>
#include <bundler/build/plan.hpp>
#include <common/manifest/binaries_lock.hpp>
#include <common/manifest/debs_lock.hpp>
#include <common/manifest/images_lock.hpp>
#include <common/manifest/manifests.hpp>
#include <common/manifest/target.hpp>
#include <installer/cluster/inventory.hpp>

#include <algorithm>
#include <filesystem>
#include <string>

namespace fs = std::filesystem;

TEST_SUITE_BEGIN("profiles");

namespace {

const fs::path k_repo = PI_SOURCE_DIR;
const char* const k_profiles[] = {"cpu-single", "gpu-single", "gpu-ha"};

std::size_t count(const std::string& text, const std::string& what)
{
    std::size_t n = 0;
    for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

} // namespace

TEST_CASE("the shipped profiles and their components load and every platform has a target")
{
    for (const char* name : k_profiles) {
        CAPTURE(name);
        auto m = common::manifest::load_manifests(k_repo / "manifests", name);
        REQUIRE_MESSAGE(m, m.error().message);
        CHECK(m->profile.roles.contains("master"));
        CHECK(std::count(m->profile.component_names.begin(), m->profile.component_names.end(), "k3s") == 1);
        CHECK(std::count(m->profile.component_names.begin(), m->profile.component_names.end(), "kubeflow") == 1);
        bool gpu = std::string(name).starts_with("gpu");
        CHECK(std::count(m->profile.component_names.begin(), m->profile.component_names.end(), "nvidia") == (gpu ? 1 : 0));
        CHECK(std::count(m->profile.component_names.begin(), m->profile.component_names.end(), "ha") == (name == std::string("gpu-ha")));
        for (const auto& platform : m->profile.platforms) {
            auto t = common::manifest::load_target(k_repo / "manifests", common::manifest::target_name(platform));
            REQUIRE_MESSAGE(t, t.error().message);
            CHECK(t->arch == platform.arch);
        }
        // Each architecture installs k3s, the registry and helm from files of its own.
        for (const std::string& arch : m->profile.arches()) {
            CAPTURE(arch);
            for (const char* install : {"/usr/local/bin/k3s", "/usr/local/bin/registry", "/usr/local/bin/helm"}) {
                std::size_t n = 0;
                for (const auto& c : m->components)
                    for (const auto& f : c.files) n += f.install == install && common::manifest::for_arch(f, arch);
                CHECK_MESSAGE(n == 1, install);
            }
        }
    }
}

TEST_CASE("every file and addon the shipped components fetch by URL has a published checksum and its source")
{
    for (const fs::directory_entry& e : fs::directory_iterator(k_repo / "manifests" / "components")) {
        std::string name = e.path().stem().string();
        if (name.starts_with("demo-")) continue; // the demo's are pinned from its loopback server (scripts/demo)
        CAPTURE(name);
        // A component loads through a profile: a throwaway one naming it.
        auto m = common::manifest::load_manifests(k_repo / "manifests", "gpu-ha");
        REQUIRE(m);
        auto c = std::find_if(m->components.begin(), m->components.end(), [&](const auto& comp) { return comp.name == name; });
        REQUIRE_MESSAGE(c != m->components.end(), "component " << name << " is in no shipped profile");
        for (const common::manifest::FileSpec* f : c->pinned_files()) {
            CAPTURE(f->url);
            CHECK(f->published_sha256.has_value());
            CHECK(!f->published_source.empty());
        }
    }
}

TEST_CASE("bundler plan lists every artifact of each profile offline and names every missing pin by component")
{
    auto lock = common::manifest::BinariesLock::load(k_repo / "binaries.lock");
    auto debs = common::manifest::DebsLock::load(k_repo / "debs.lock");
    auto images = common::manifest::ImagesLock::load(k_repo / "images.lock");
    REQUIRE(lock);
    REQUIRE(debs);
    REQUIRE(images);
    for (const char* name : k_profiles) {
        CAPTURE(name);
        auto m = common::manifest::load_manifests(k_repo / "manifests", name);
        REQUIRE(m);
        auto text = bundler::build::plan_text({name, k_repo, ""});
        REQUIRE_MESSAGE(text, text.error().message);
        for (const std::string& arch : m->profile.arches()) {
            CAPTURE(arch);
            CHECK(text->find("== " + arch + " ") != std::string::npos);
            auto one = common::manifest::for_arch(*m, arch);
            REQUIRE(one);
            std::size_t files = 0, images_named = 0, debs_named = 0, addons = 0;
            for (const auto& c : one->components) {
                files += std::count_if(c.files.begin(), c.files.end(), [&](const auto& f) { return common::manifest::for_arch(f, arch); });
                images_named += c.images.size();
                debs_named += c.deb_requests.size();
                addons += c.addons.size();
            }
            // Missing pins: every file and image (the repository pins them on a connected machine), per component.
            std::string missing = bundler::build::missing_pins(*one, *lock, *debs, *images);
            for (const auto& c : one->components)
                if (!c.files.empty() || !c.images.empty()) CHECK(missing.find("component " + c.name + " (") != std::string::npos);
            CHECK(count(missing, "is not pinned in binaries.lock") ==
                  files + std::count_if(one->components.begin(), one->components.end(), [](const auto& c) {
                      return std::count_if(c.addons.begin(), c.addons.end(), [](const auto& a) { return a.remote.has_value(); });
                  }));
            CHECK(count(missing, "is not pinned in images.lock") == images_named);
            CHECK(debs_named > 0);
            CHECK(addons == (std::string(name).starts_with("gpu") ? 2u : 0u));
        }
        // Every artifact is listed: one line per file of each arch, image, deb and addon.
        std::size_t lines = count(*text, "\n  file  ") + count(*text, "\n  image ") + count(*text, "\n  deb   ") + count(*text, "\n  addon ");
        std::size_t want = 0;
        for (const std::string& arch : m->profile.arches())
            for (const auto& c : m->components)
                want += std::count_if(c.files.begin(), c.files.end(), [&](const auto& f) { return common::manifest::for_arch(f, arch); }) +
                        c.images.size() + c.deb_requests.size() + c.addons.size();
        CHECK(lines == want);
        for (const auto& [role, plan] : m->profile.roles) CHECK(text->find("role " + role + ": preflight -> store") != std::string::npos);
    }
}

TEST_CASE("a profile with files for one architecture each builds one bundle per architecture")
{
    auto m = common::manifest::load_manifests(k_repo / "manifests", "cpu-single");
    REQUIRE(m);
    auto both = bundler::build::plan_bundle(*m, {}, {}, {}, 0);
    REQUIRE_FALSE(both);
    CHECK(both.error().message.find("build one .run per architecture (--arch amd64)") != std::string::npos);
    auto arm = common::manifest::for_arch(*m, "arm64");
    REQUIRE(arm);
    CHECK(arm->profile.arches() == std::vector<std::string>{"arm64"});
    auto unpinned = bundler::build::plan_bundle(*arm, {}, {}, {}, 0);
    REQUIRE_FALSE(unpinned);
    CHECK(unpinned.error().message.find("k3s-arm64") != std::string::npos);
    CHECK(unpinned.error().message.find("k3s-airgap-images-amd64") == std::string::npos);
    CHECK_FALSE(common::manifest::for_arch(*m, "riscv64"));
}

TEST_CASE("the cluster.yaml example of each profile is a valid inventory")
{
    for (const char* name : k_profiles) {
        CAPTURE(name);
        auto inv = installer::cluster::Inventory::load((k_repo / "docs" / "examples" / (std::string("cluster-") + name + ".yaml")).string());
        REQUIRE_MESSAGE(inv, inv.error().message);
        bool gpu = std::string(name).starts_with("gpu");
        CHECK(std::any_of(inv->nodes.begin(), inv->nodes.end(), [](const auto& n) { return n.has_gpu; }) == gpu);
        std::size_t masters = std::count_if(inv->nodes.begin(), inv->nodes.end(),
                                            [](const auto& n) { return n.role == installer::cluster::Role::master; });
        CHECK(masters == (name == std::string("gpu-ha") ? 3u : 1u));
        // The profile has every role the example uses.
        auto m = common::manifest::load_manifests(k_repo / "manifests", name);
        REQUIRE(m);
        for (const auto& n : inv->nodes) CHECK(m->profile.roles.contains(n.role == installer::cluster::Role::master ? "master" : "worker"));
    }
}
