// SPDX-License-Identifier: Apache-2.0
// The node's apt repository as pure functions of the bundle: its tree (pool and index links, Release),
// the Release apt checks, the sources entry (signed-by) and the options that keep apt to it.
#include <doctest/doctest.h>

#include <common/bundle/bundle_index.hpp>
#include <common/digest/sha256.hpp>
#include <installer/phases/apt_repo.hpp>

#include <algorithm>
#include <map>

using namespace installer::phases;
namespace bundle = common::bundle;

TEST_SUITE_BEGIN("apt");

namespace {

common::store::BlobRef blob(std::string_view content) { return {common::digest::sha256_of(content), content.size()}; }

bundle::BundleIndex two_debs()
{
    bundle::BundleIndex index;
    index.created = 1700000000;
    index.debs["debian-12"] = {{"jq", "1.6-2.1", "amd64", "pool/main/j/jq/jq_1.6-2.1_amd64.deb", blob("jq deb")},
                               {"libjq1", "1.6-2.1", "amd64", "pool/main/j/jq/libjq1_1.6-2.1_amd64.deb", blob("libjq1 deb")}};
    index.apt_indexes["debian-12"] = {"amd64", blob("Packages"), blob("Packages.gz"), blob("Packages.xz")};
    return index;
}

} // namespace

TEST_CASE("apt_repo_tree: pool links by file name and index links and a Release listing the indexes")
{
    auto tree = apt_repo_tree(two_debs(), "debian-12", "/var/lib/platform-installer/store");
    REQUIRE(tree);
    std::map<std::string, const installer::system::TreeEntry*> by;
    for (const auto& e : *tree) by[e.path] = &e;
    REQUIRE(by.size() == 6);
    CHECK(by.at("pool/jq_1.6-2.1_amd64.deb")->link_from == "/var/lib/platform-installer/store/blobs/sha256/" + blob("jq deb").digest.hex());
    CHECK(by.at("dists/platform/main/binary-amd64/Packages.gz")->link_from.ends_with(blob("Packages.gz").digest.hex()));
    CHECK(by.at("dists/platform/main/binary-amd64/Packages.xz")->link_from.ends_with(blob("Packages.xz").digest.hex()));
    const std::string& release = by.at("dists/platform/Release")->content;
    CHECK(release.find("Suite: platform\n") != std::string::npos);
    CHECK(release.find("Date: Tue, 14 Nov 2023 22:13:20 UTC\n") != std::string::npos);
    CHECK(release.find(" " + blob("Packages").digest.hex() + "                8 main/binary-amd64/Packages\n") != std::string::npos);
    CHECK(release.find(" " + blob("Packages.gz").digest.hex() + "               11 main/binary-amd64/Packages.gz\n") != std::string::npos);
    CHECK(release.find(" " + blob("Packages.xz").digest.hex() + "               11 main/binary-amd64/Packages.xz\n") != std::string::npos);
    CHECK(std::is_sorted(tree->begin(), tree->end(), [](const auto& a, const auto& b) { return a.path < b.path; }));
}

TEST_CASE("apt_repo_tree refuses a target the bundle has no repository for and two debs with one file name")
{
    auto none = apt_repo_tree(two_debs(), "ubuntu-24.04", "/s");
    REQUIRE(!none);
    CHECK(none.error().code == common::Errc::not_found);
    CHECK(none.error().message.find("ubuntu-24.04") != std::string::npos);
    auto index = two_debs();
    index.debs["debian-12"][1].filename = "pool/other/jq_1.6-2.1_amd64.deb";
    auto twice = apt_repo_tree(index, "debian-12", "/s");
    REQUIRE(!twice);
    CHECK(twice.error().message.find("jq_1.6-2.1_amd64.deb") != std::string::npos);
}

TEST_CASE("apt_target and apt_date and the sources entry and apt's isolation options")
{
    CHECK(apt_target("ubuntu", "22.04") == "ubuntu-22.04");
    CHECK(apt_date(0) == "Thu, 01 Jan 1970 00:00:00 UTC");
    std::string entry = apt_sources_entry("debian-12");
    CHECK(entry.find("URIs: file:/var/lib/platform-installer/apt/debian-12\n") != std::string::npos);
    CHECK(entry.find("Signed-By: /etc/apt/keyrings/platform-installer.gpg\n") != std::string::npos);
    CHECK(entry.find("trusted") == std::string::npos);
    auto options = apt_isolation_options("/x/sources", "/x/lists", 30);
    auto has = [&](std::string_view o) { return std::find(options.begin(), options.end(), o) != options.end(); };
    CHECK(has("Dir::Etc::SourceList=/dev/null"));
    CHECK(has("Dir::Etc::SourceParts=/x/sources"));
    CHECK(has("Dir::State::Lists=/x/lists"));
    CHECK(has("APT::Get::List-Cleanup=false"));
    CHECK(has("DPkg::Lock::Timeout=30"));
    CHECK(has("Dpkg::Options::=--force-confold"));
}

TEST_CASE("bundle.json carries apt_indexes and refuses one whose blob is not listed")
{
    auto index = two_debs();
    for (const auto& [_, list] : index.debs)
        for (const auto& d : list) index.blobs.push_back(d.blob);
    index.blobs.push_back(index.apt_indexes["debian-12"].packages);
    index.blobs.push_back(index.apt_indexes["debian-12"].packages_gz);
    index.blobs.push_back(index.apt_indexes["debian-12"].packages_xz);
    std::sort(index.blobs.begin(), index.blobs.end(), [](const auto& a, const auto& b) { return a.digest < b.digest; });
    index.profile = "p";
    index.version = "1";
    auto back = bundle::BundleIndex::parse(index.to_json());
    REQUIRE(back);
    REQUIRE(back->apt_indexes.contains("debian-12"));
    CHECK(back->apt_indexes.at("debian-12").packages_gz.digest == blob("Packages.gz").digest);
    CHECK(back->apt_indexes.at("debian-12").architecture == "amd64");

    index.blobs.erase(std::find_if(index.blobs.begin(), index.blobs.end(),
                                   [](const auto& b) { return b.digest == blob("Packages.gz").digest; }));
    auto bad = bundle::BundleIndex::parse(index.to_json());
    REQUIRE(!bad);
    CHECK(bad.error().message.find("apt_indexes[debian-12].packages_gz") != std::string::npos);
}

TEST_SUITE_END();
