// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <common/deb/control.hpp>
#include <common/deb/relation.hpp>
#include <common/deb/version.hpp>

using common::deb::compare_versions;

TEST_SUITE_BEGIN("debs");

TEST_CASE("Debian versions order as dpkg orders them (deb-version(7) and dpkg's t-version cases)")
{
    struct Case {
        const char* a;
        const char* b;
        int want;
    };
    const Case cases[] = {
        {"1.0", "1.0", 0},         {"1.0", "1.0-0", 0},        {"0:1.0", "1.0", 0},       {"1:0.1", "2.0", 1},
        {"1.0~rc1", "1.0", -1},    {"1.0~~", "1.0~", -1},      {"1.0~", "1.0", -1},       {"1.0", "1.0+", -1},
        {"1.0a", "1.0+", -1},      {"1.0a", "1.0", 1},         {"1.0.0", "1.0", 1},       {"1.10", "1.9", 1},
        {"1.0-1", "1.0-2", -1},    {"1.0-10", "1.0-9", 1},     {"1.0-1ubuntu1", "1.0-1", 1}, {"001", "1", 0},
        {"1.0-1~bpo1", "1.0-1", -1}, {"2:1", "1:99", 1},       {"1.2.3", "1.2.3a", -1},   {"a", "b", -1},
    };
    for (const Case& c : cases) {
        CAPTURE(c.a);
        CAPTURE(c.b);
        int got = compare_versions(c.a, c.b);
        CHECK((got > 0) - (got < 0) == c.want);
        int back = compare_versions(c.b, c.a);
        CHECK((back > 0) - (back < 0) == -c.want);
    }
}

TEST_CASE("Version::parse splits epoch - upstream and revision and refuses what dpkg refuses")
{
    auto v = common::deb::Version::parse("2:1.2-3-4");
    REQUIRE(v);
    CHECK(v->epoch == 2);
    CHECK(v->upstream == "1.2-3");
    CHECK(v->revision == "4");
    CHECK(v->str() == "2:1.2-3-4");
    CHECK(!common::deb::Version::parse(""));
    CHECK(!common::deb::Version::parse("a:1.0"));
    CHECK(!common::deb::Version::parse("1.0-"));
    CHECK(!common::deb::Version::parse("1.0 2"));
}

TEST_CASE("parse_relations reads alternatives - operators - qualifiers - ignores arch lists and profiles")
{
    auto r = common::deb::parse_relations("libc6 (>= 2.34), perl:any, a (<< 1.5~alpha4~) | b, c [amd64] <!nocheck>, d (>1)");
    REQUIRE(r);
    REQUIRE(r->size() == 5);
    CHECK((*r)[0][0].name == "libc6");
    CHECK((*r)[0][0].op == common::deb::Op::ge);
    CHECK((*r)[0][0].version == "2.34");
    CHECK((*r)[1][0].arch_qualifier == "any");
    REQUIRE((*r)[2].size() == 2);
    CHECK((*r)[2][0].op == common::deb::Op::lt);
    CHECK((*r)[2][0].version == "1.5~alpha4~");
    CHECK((*r)[2][1].name == "b");
    CHECK((*r)[3][0].name == "c");
    CHECK((*r)[4][0].op == common::deb::Op::ge); // obsolete '>' means >=
    CHECK(!common::deb::parse_relations("a (>= 1"));
    CHECK(common::deb::satisfies("1.0-1", common::deb::Op::ge, "1.0"));
    CHECK(!common::deb::satisfies("1.0~rc1", common::deb::Op::ge, "1.0"));
}

TEST_CASE("for_each_paragraph reads deb822 with continuation lines and names bad lines")
{
    std::string text = "Package: a\nVersion: 1\nDescription: x\n more\n .\n\nPackage: b\nSHA256:\n abc 1 main/x\n def 2 main/y\n";
    std::vector<std::string> names;
    std::vector<std::string_view> lines;
    auto r = common::deb::for_each_paragraph(text, [&](const common::deb::Paragraph& p) -> common::Result<void> {
        names.emplace_back(p.get("package"));
        if (p.has("SHA256")) lines = common::deb::value_lines(p.get("SHA256"));
        return {};
    });
    REQUIRE(r);
    CHECK(names == std::vector<std::string>{"a", "b"});
    CHECK(lines.size() == 2);
    CHECK(lines[1] == "def 2 main/y");
    auto bad = common::deb::for_each_paragraph("Package: a\nnot a field\n", [](const auto&) -> common::Result<void> { return {}; });
    REQUIRE(!bad);
    CHECK(bad.error().message.find("line 2") != std::string::npos);
}

TEST_SUITE_END();
