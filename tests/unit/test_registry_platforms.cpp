// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <bundler/registry/image_fetcher.hpp>
#include <bundler/registry/image_resolver.hpp>
#include <common/oci/image_manifest.hpp>

using common::Errc;
namespace oci = common::oci;
namespace registry = bundler::registry;

TEST_SUITE_BEGIN("images");

namespace {

std::string hex_of(char c) { return std::string(64, c); }

// An index with the given entries: {"os/arch[/variant]", digest hex char}.
std::string index_json(std::vector<std::pair<std::string, char>> entries, std::string_view media_type = oci::media::oci_index)
{
    std::string out = fmt::format(R"({{"schemaVersion":2,"mediaType":"{}","manifests":[)", media_type);
    for (std::size_t i = 0; i < entries.size(); ++i) {
        auto p = oci::Platform::parse(entries[i].first).value();
        std::string variant = p.variant.empty() ? "" : fmt::format(R"(,"variant":"{}")", p.variant);
        out += fmt::format(R"({}{{"mediaType":"{}","digest":"sha256:{}","size":500,"platform":{{"os":"{}","architecture":"{}"{}}}}})",
                           i ? "," : "", oci::media::oci_manifest, hex_of(entries[i].second), p.os, p.architecture, variant);
    }
    return out + "]}";
}

} // namespace

TEST_CASE("parse_manifest reads OCI and Docker indexes and manifests")
{
    auto index = oci::parse_manifest(index_json({{"linux/amd64", 'a'}, {"linux/arm64/v8", 'b'}}), "");
    REQUIRE(index);
    CHECK(index->index());
    REQUIRE(index->manifests.size() == 2);
    CHECK(index->manifests[1].platform->str() == "linux/arm64/v8");
    CHECK(index->manifests[0].size == 500);

    auto list = oci::parse_manifest(index_json({{"linux/amd64", 'a'}}, oci::media::docker_list), "");
    REQUIRE(list);
    CHECK(list->media_type == oci::media::docker_list);

    std::string manifest = fmt::format(
        R"({{"schemaVersion":2,"config":{{"mediaType":"{}","digest":"sha256:{}","size":7}},"layers":[{{"mediaType":"{}","digest":"sha256:{}","size":9}}]}})",
        oci::media::docker_config, hex_of('c'), oci::media::docker_layer_gzip, hex_of('d'));
    // No mediaType in the document: the Content-Type it came with (parameters dropped) says what it is.
    auto m = oci::parse_manifest(manifest, std::string(oci::media::docker_manifest) + "; charset=utf-8");
    REQUIRE(m);
    CHECK(m->media_type == oci::media::docker_manifest);
    CHECK(!m->index());
    CHECK(m->config.size == 7);
    REQUIRE(m->layers.size() == 1);
    CHECK(m->layers[0].digest.hex() == hex_of('d'));
}

TEST_CASE("parse_manifest refuses schema 1 - saying so - and anything malformed")
{
    auto s1 = oci::parse_manifest(R"({"schemaVersion":1,"name":"x","fsLayers":[]})", oci::media::docker_schema1_signed);
    REQUIRE(!s1);
    CHECK(s1.error().code == Errc::unsupported);
    CHECK(s1.error().message.find("schema 1") != std::string::npos);
    std::string md5 = index_json({{"linux/amd64", 'a'}});
    md5.replace(md5.find("sha256:"), 7, "md5:");
    std::string negative = index_json({{"linux/amd64", 'a'}});
    negative.replace(negative.find("500"), 3, "-5");
    for (std::string bad : {std::string("not json"), std::string("[]"), std::string(R"({"schemaVersion":2,"manifests":{}})"),
                            std::string(R"({"schemaVersion":3})"), md5, negative}) {
        CAPTURE(bad);
        CHECK(!oci::parse_manifest(bad, ""));
    }
}

TEST_CASE("image_platforms maps the profile's dpkg architectures - each once")
{
    std::vector<common::bundle::Platform> profile{{"debian", "12", "amd64"}, {"ubuntu", "22.04", "amd64"}, {"ubuntu", "22.04", "arm64"}};
    auto want = registry::image_platforms(profile);
    REQUIRE(want.size() == 2);
    CHECK(want[0].str() == "linux/amd64");
    CHECK(want[1].str() == "linux/arm64/v8");
}

TEST_CASE("select_platforms: arm64 means v8 - a missing platform names the image and what the index has")
{
    auto index = oci::parse_manifest(
        index_json({{"linux/amd64", 'a'}, {"linux/arm64", 'b'}, {"linux/arm/v7", 'c'}, {"unknown/unknown", 'd'}}), "");
    REQUIRE(index);
    auto chosen = registry::select_platforms(*index, {oci::Platform::from_dpkg_arch("arm64"), oci::Platform::from_dpkg_arch("amd64")},
                                             "docker.io/x/y:1");
    REQUIRE(chosen);
    REQUIRE(chosen->size() == 2);
    CHECK(chosen->at(0).digest.hex() == hex_of('b')); // "linux/arm64" without a variant serves arm64/v8
    CHECK(chosen->at(1).digest.hex() == hex_of('a'));

    auto armhf = registry::select_platforms(*index, {oci::Platform::from_dpkg_arch("armhf")}, "img");
    REQUIRE(armhf);
    CHECK(armhf->at(0).digest.hex() == hex_of('c'));

    auto missing = registry::select_platforms(*index, {oci::Platform::from_dpkg_arch("s390x")}, "docker.io/x/y:1");
    REQUIRE(!missing);
    CHECK(missing.error().code == Errc::not_found);
    CHECK(missing.error().message == "image docker.io/x/y:1 has no linux/s390x manifest: its index has linux/amd64, linux/arm64, linux/arm/v7");

    // An arm64/v9-only index does not serve arm64 (v8).
    auto v9 = oci::parse_manifest(index_json({{"linux/arm64/v9", 'e'}}), "");
    CHECK(!registry::select_platforms(*v9, {oci::Platform::from_dpkg_arch("arm64")}, "img"));
}

TEST_CASE("config_platform reads a single-platform image's config")
{
    auto p = registry::config_platform(R"({"architecture":"arm64","os":"linux","variant":"v8","rootfs":{}})");
    REQUIRE(p);
    CHECK(p->str() == "linux/arm64/v8");
    CHECK(p->serves(oci::Platform::from_dpkg_arch("arm64")));
    auto plain = registry::config_platform(R"({"architecture":"amd64","os":"linux"})");
    REQUIRE(plain);
    CHECK(!plain->serves(oci::Platform::from_dpkg_arch("arm64")));
    CHECK(registry::config_platform(R"({"rootfs":{}})").error().code == Errc::corrupt);
    CHECK(registry::config_platform("nope").error().code == Errc::corrupt);
}

TEST_CASE("image_blobs lists every blob once - manifests by the manifests endpoint")
{
    auto d = [](char c, std::string_view media) { return oci::Descriptor{std::string(media), common::digest::Digest::parse(hex_of(c)).value(), 10, {}}; };
    oci::LockedImage a;
    a.name = "docker.io/pitest/a";
    a.top = d('1', oci::media::oci_index);
    a.platforms.push_back({{"linux", "amd64", ""}, d('2', oci::media::oci_manifest), d('3', oci::media::oci_config), {d('9', oci::media::oci_layer_gzip)}});
    oci::LockedImage b = a;
    b.name = "docker.io/pitest/b";
    b.top = d('4', oci::media::oci_manifest);
    b.platforms = {{{"linux", "amd64", ""}, d('4', oci::media::oci_manifest), d('5', oci::media::oci_config), {d('9', oci::media::oci_layer_gzip)}}};
    auto blobs = registry::image_blobs({a, b});
    REQUIRE(blobs.size() == 6); // 1 2 3 9 4 5: the shared layer 9 once, b's top and manifest once
    CHECK(blobs[0].kind == registry::Kind::manifest);
    CHECK(blobs[1].kind == registry::Kind::manifest);
    CHECK(blobs[2].kind == registry::Kind::blob);
    CHECK(blobs[3].repo.name() == "docker.io/pitest/a"); // served from the first image naming it
    CHECK(blobs[4].kind == registry::Kind::manifest);
    CHECK(blobs[4].repo.name() == "docker.io/pitest/b");
}

TEST_SUITE_END();
