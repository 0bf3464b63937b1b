// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include "scratch.hpp"

#include <bundler/build/builder.hpp>
#include <common/manifest/images_lock.hpp>
#include <common/manifest/manifests.hpp>

using common::Errc;
using common::manifest::ImagesLock;
using common::manifest::load_manifests;
namespace oci = common::oci;

TEST_SUITE_BEGIN("images");

namespace {

const char* k_profile = R"(name: p
version: 1.0.0
platforms:
  - {os: debian, release: "12", arch: amd64}
  - {os: ubuntu, release: "22.04", arch: arm64}
components: [c, d]
roles:
  master: {phases: [preflight, store]}
  worker: {phases: [preflight, store]}
)";

const char* k_component = R"(name: c
images:
  - busybox:1.36
  - {ref: "ghcr.io/org/app:1", import: true, airgap: false, roles: [master]}
)";

const char* k_other = R"(name: d
images:
  - {ref: busybox:1.36, airgap: true, roles: [worker]}
)";

std::string replace(std::string text, const std::string& from, const std::string& to)
{
    auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    return text.replace(at, from.size(), to);
}

void write_tree(const Scratch& s, const std::string& component, const std::string& other = k_other)
{
    s.write("manifests/profiles/p.yaml", k_profile);
    s.write("manifests/components/c.yaml", component);
    s.write("manifests/components/d.yaml", other);
}

oci::Descriptor desc(char c, std::string_view media, std::uint64_t size = 10)
{
    return {std::string(media), common::digest::Digest::parse(std::string(64, c)).value(), size, {}};
}

// A pin of `ref` for the given platforms (each with its own manifest, a shared layer).
oci::LockedImage pin(std::string ref, std::vector<oci::Platform> platforms)
{
    oci::LockedImage image;
    image.ref = ref;
    auto parsed = oci::Reference::parse(ref).value();
    image.name = parsed.name();
    image.tag = parsed.tag;
    image.top = desc('1', oci::media::oci_index, 300);
    char m = '2';
    for (const oci::Platform& p : platforms) {
        image.platforms.push_back({p, desc(m, oci::media::oci_manifest), desc(static_cast<char>(m + 4), oci::media::oci_config),
                                   {desc('f', oci::media::oci_layer_gzip, 5000)}});
        ++m;
    }
    return image;
}

} // namespace

TEST_CASE("components list images as references or objects - requested_images merges them")
{
    Scratch s;
    write_tree(s, k_component);
    auto m = load_manifests(s / "manifests", "p");
    REQUIRE(m);
    const auto& images = m->components[0].images;
    REQUIRE(images.size() == 2);
    CHECK(images[0].ref == "busybox:1.36");
    CHECK(images[0].reference.str() == "docker.io/library/busybox:1.36");
    CHECK(!images[0].import);
    CHECK(images[0].where.find("c.yaml:3") != std::string::npos);
    CHECK(images[1].import);
    CHECK(images[1].roles == std::vector<std::string>{"master"});

    auto merged = m->requested_images();
    REQUIRE(merged.size() == 2);
    CHECK(merged[0].ref == "busybox:1.36");
    CHECK(merged[0].airgap);        // component d asks for it
    CHECK(merged[0].roles.empty()); // c wants it on every role
    CHECK(merged[1].ref == "ghcr.io/org/app:1");
}

TEST_CASE("image entries are validated with file - line and field")
{
    Scratch s;
    struct Case {
        std::string name, component, expect;
    };
    std::vector<Case> cases{
        {"upper case", replace(k_component, "busybox:1.36", "BusyBox:1.36"), "c.yaml:3: field 'images[0]': image reference 'BusyBox:1.36'"},
        {"bad tag", replace(k_component, "busybox:1.36", "busybox:-x"), "c.yaml:3: field 'images[0]': image reference 'busybox:-x': '-x' is not a valid tag"},
        {"bad digest", replace(k_component, "busybox:1.36", "busybox@sha256:12"), "c.yaml:3: field 'images[0]'"},
        {"unknown key", replace(k_component, "import: true", "imprt: true"), "c.yaml:4: field 'images[1].imprt': unknown field"},
        {"not a bool", replace(k_component, "import: true", "import: maybe"), "c.yaml:4: field 'images[1].import': expected true or false"},
        {"no ref", replace(k_component, "ref: \"ghcr.io/org/app:1\", ", ""), "field 'images[1].ref': missing"},
        {"twice", std::string(k_component) + "  - busybox:1.36\n", "c.yaml:5: field 'images[2]': 'busybox:1.36' is listed twice"},
        {"unknown role", replace(k_component, "roles: [master]", "roles: [gpu]"), "image ghcr.io/org/app:1: role 'gpu' is not a role"},
        {"not a list", "name: c\nimages: busybox\n", "c.yaml:2: field 'images': expected a list"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.name);
        write_tree(s, c.component);
        auto m = load_manifests(s / "manifests", "p");
        REQUIRE(!m);
        CHECK(m.error().code == Errc::invalid_argument);
        CAPTURE(m.error().message);
        CHECK(m.error().message.find(c.expect) != std::string::npos);
    }
}

TEST_CASE("ImagesLock round-trips - sorted - and refuses a bad pin with its line")
{
    Scratch s;
    ImagesLock lock;
    lock.put(pin("ghcr.io/org/app:1", {{"linux", "arm64", "v8"}, {"linux", "amd64", ""}}));
    lock.put(pin("busybox:1.36", {{"linux", "amd64", ""}}));
    std::string yaml = lock.to_yaml();
    CHECK(yaml.find("busybox:1.36") < yaml.find("ghcr.io/org/app:1"));
    CHECK(yaml.find("linux/amd64") < yaml.find("linux/arm64/v8")); // platforms sorted too
    auto path = s.write("images.lock", yaml);
    auto back = ImagesLock::load(path);
    REQUIRE(back);
    CHECK(back->to_yaml() == yaml);
    const oci::LockedImage* app = back->find("ghcr.io/org/app:1");
    REQUIRE(app);
    CHECK(app->name == "ghcr.io/org/app");
    CHECK(app->top.media_type == oci::media::oci_index);
    REQUIRE(app->platforms.size() == 2);
    CHECK(app->platforms[1].layers.at(0).size == 5000);
    CHECK(common::manifest::find_platform(*app, oci::Platform::from_dpkg_arch("arm64")) == &app->platforms[1]);

    CHECK(ImagesLock::load(s / "absent.lock").value().images.empty());
    CHECK(ImagesLock::load(s.write("empty.lock", "version: 1\nimages: []\n")).value().images.empty());

    struct Case {
        std::string name, from, to, expect;
    };
    std::vector<Case> cases{
        {"bad digest", "digest: sha256:1111", "digest: sha256:zz11", "field 'images[0].digest'"},
        {"wrong name", "name: docker.io/library/busybox", "name: docker.io/library/other", "field 'images[0].name': 'docker.io/library/other' is not the name of"},
        {"negative size", "size: 5000", "size: -5000", "expected a non-negative integer"},
        {"bad platform", "platform: linux/amd64", "platform: amd64", "field 'images[0].platforms[0].platform'"},
        {"version", "version: 1", "version: 2", "unsupported lock version"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.name);
        auto r = ImagesLock::load(s.write("bad.lock", replace(yaml, c.from, c.to)));
        REQUIRE(!r);
        CAPTURE(r.error().message);
        CHECK(r.error().message.find("bad.lock:") != std::string::npos);
        CHECK(r.error().message.find(c.expect) != std::string::npos);
    }
}

TEST_CASE("plan_bundle puts each image with the profile's platforms and its options - every blob once")
{
    Scratch s;
    write_tree(s, k_component);
    auto m = load_manifests(s / "manifests", "p");
    REQUIRE(m);
    ImagesLock lock;
    lock.put(pin("busybox:1.36", {{"linux", "amd64", ""}, {"linux", "arm64", ""}, {"linux", "s390x", ""}}));
    lock.put(pin("ghcr.io/org/app:1", {{"linux", "amd64", ""}, {"linux", "arm64", "v8"}}));
    auto idx = bundler::build::plan_bundle(*m, {}, {}, lock, 0);
    REQUIRE(idx);
    REQUIRE(idx->images.size() == 2);
    const oci::LockedImage& busybox = idx->images[0];
    REQUIRE(busybox.platforms.size() == 2); // s390x is pinned (another profile) but not this profile's
    CHECK(busybox.platforms[1].platform.str() == "linux/arm64");
    CHECK(busybox.airgap);
    CHECK(idx->images[1].import);
    CHECK(idx->images[1].roles == std::vector<std::string>{"master"});
    // Both pins share top '1', manifests '2' '3', configs '6' '7' and layer 'f': 6 blobs, each once.
    CHECK(idx->blobs.size() == 6);
    auto round = common::bundle::BundleIndex::parse(idx->to_json());
    REQUIRE(round);
    CHECK(round->images.size() == 2);
}

TEST_CASE("plan_bundle refuses an unpinned image or one pinned for other platforms - naming it")
{
    Scratch s;
    write_tree(s, k_component);
    auto m = load_manifests(s / "manifests", "p");
    REQUIRE(m);
    ImagesLock lock;
    lock.put(pin("busybox:1.36", {{"linux", "amd64", ""}, {"linux", "arm64", "v8"}}));
    auto unpinned = bundler::build::plan_bundle(*m, {}, {}, lock, 0);
    REQUIRE(!unpinned);
    CHECK(unpinned.error().code == Errc::failed_precondition);
    CHECK(unpinned.error().message.find("image ghcr.io/org/app:1 is not pinned in images.lock") != std::string::npos);

    lock.put(pin("ghcr.io/org/app:1", {{"linux", "amd64", ""}}));
    auto platforms = bundler::build::plan_bundle(*m, {}, {}, lock, 0);
    REQUIRE(!platforms);
    CAPTURE(platforms.error().message);
    CHECK(platforms.error().message.find("image ghcr.io/org/app:1 is pinned in images.lock for linux/amd64 but profile p needs linux/arm64/v8") !=
          std::string::npos);
}

TEST_SUITE_END();
