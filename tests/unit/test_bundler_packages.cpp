// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <bundler/apt/package_index.hpp>
#include <common/deb/control.hpp>

#include <string>

using bundler::apt::PackageIndex;

TEST_SUITE_BEGIN("seam");

TEST_CASE("PackageIndex refuses a Size that is not a whole byte count - naming the source and line")
{
    const std::string head = "Package: ok\nVersion: 1\nArchitecture: amd64\nSize: 1234\n\nPackage: bad\nVersion: 1\nArchitecture: amd64\n";
    for (const char* size : {"Size: 12x", "Size: -5", "Size:", "Size: 99999999999999999999999", "Size: 0x10", "Size: 1 2"}) {
        CAPTURE(size);
        PackageIndex idx("amd64");
        auto r = idx.add(head + size + "\n", 0, "http://repo.invalid stable main");
        REQUIRE(!r);
        CHECK(r.error().code == common::Errc::corrupt);
        CHECK(r.error().message.starts_with("http://repo.invalid stable main: line 6: bad: Size '"));
    }
    PackageIndex idx("amd64");
    REQUIRE(idx.add(head + "Size: 5678\n\nPackage: other-arch\nVersion: 1\nArchitecture: arm64\nSize: junk\n", 0, "test"));
    idx.finish();
    CHECK(idx.candidate("ok")->size == 1234);
    CHECK(idx.candidate("bad")->size == 5678);
    CHECK(idx.candidate("other-arch") == nullptr); // another architecture's stanza is not read
}

namespace {

// One synthetic Packages stanza with the fields Debian's have, most of which the resolver never reads.
std::string stanza(int i)
{
    std::string name = "pkg-" + std::to_string(i);
    std::string out = "Package: " + name + "\nSource: src-" + std::to_string(i / 4) + "\nVersion: 1." + std::to_string(i) +
                      "-1\nInstalled-Size: 12345\nMaintainer: Some One <some.one@example.invalid>\nArchitecture: amd64\n";
    if (i > 0) out += "Depends: libc6 (>= 2.36), pkg-" + std::to_string(i - 1) + " | other\n";
    out += "Description: synthetic package " + std::to_string(i) + "\n";
    for (int l = 0; l < 60; ++l) out += " This long description line is there to be dropped by the index, line " + std::to_string(l) + ".\n";
    out += "Homepage: https://example.invalid/" + name + "\nTag: role::program, devel::lang:c, implemented-in::c\n"
           "Section: utils\nPriority: optional\nFilename: pool/main/p/" + name + "/" + name + "_1_amd64.deb\nSize: " +
           std::to_string(1000 + i) + "\nMD5sum: 0123456789abcdef0123456789abcdef\nSHA256: " + std::string(64, 'a') + "\n\n";
    return out;
}

} // namespace

TEST_CASE("PackageIndex read from a stream keeps only the fields it uses - in storage of its own")
{
    PackageIndex idx("amd64");
    common::deb::ParagraphReader reader([&](const common::deb::Paragraph& p) { return idx.add_paragraph(p, 0, "synthetic"); });
    // Generated on the fly and fed in odd-sized chunks through one reused buffer: a view into the stream
    // would read overwritten bytes by the end.
    constexpr int k_packages = 3000;
    std::string buffer;
    std::size_t streamed = 0;
    for (int i = 0; i < k_packages; ++i) {
        buffer += stanza(i);
        while (buffer.size() >= 4093) {
            REQUIRE(reader.feed(std::string_view(buffer).substr(0, 4093)));
            streamed += 4093;
            buffer.erase(0, 4093);
        }
    }
    REQUIRE(reader.feed(buffer));
    streamed += buffer.size();
    REQUIRE(reader.finish());
    idx.finish();

    CHECK(streamed > 14'000'000);
    CHECK(idx.size() == k_packages);
    MESSAGE("streamed ", streamed, " bytes, the index retains ", idx.retained_bytes());
    CHECK(idx.retained_bytes() * 20 < streamed);
    const bundler::apt::Package* last = idx.candidate("pkg-2999");
    REQUIRE(last);
    CHECK(last->version == "1.2999-1");
    CHECK(last->filename == "pool/main/p/pkg-2999/pkg-2999_1_amd64.deb");
    CHECK(last->size == 3999);
    CHECK(last->sha256 == std::string(64, 'a'));
    CHECK(last->section == "utils");
    CHECK(last->priority == "optional");
    CHECK(last->line == 2999 * 77); // 76 lines in pkg-0, 77 (with Depends) in the others
    auto deps = idx.relations(*last, "Depends");
    REQUIRE(deps);
    REQUIRE((*deps)->size() == 2);
    CHECK((**deps)[1][0].name == "pkg-2998");
    CHECK(idx.apt_id("other") > idx.apt_id("pkg-1")); // mentioned first in pkg-2's Depends
}

TEST_SUITE_END();
