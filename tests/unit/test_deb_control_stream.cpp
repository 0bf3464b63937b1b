// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <common/deb/control.hpp>

#include <string>
#include <vector>

using common::deb::Paragraph;
using common::deb::ParagraphReader;

TEST_SUITE_BEGIN("seam");

namespace {

// What a paragraph said, copied out (its views die with the callback).
struct Seen {
    std::size_t line = 0;
    std::vector<std::pair<std::string, std::string>> fields;
    bool operator==(const Seen&) const = default;
};

common::Result<void> record(std::vector<Seen>& out, const Paragraph& p)
{
    Seen s{p.line, {}};
    for (const auto& f : p.fields) s.fields.emplace_back(f.name, f.value);
    out.push_back(std::move(s));
    return {};
}

struct Outcome {
    std::vector<Seen> paragraphs;
    std::string error; // empty when the text was read
};

// Feeds text in pieces cut at `cuts` (ascending offsets).
Outcome read_cut(std::string_view text, const std::vector<std::size_t>& cuts)
{
    Outcome o;
    ParagraphReader reader([&](const Paragraph& p) { return record(o.paragraphs, p); });
    std::size_t at = 0;
    common::Result<void> r;
    for (std::size_t cut : cuts) {
        if (r) r = reader.feed(text.substr(at, cut - at));
        at = cut;
    }
    if (r) r = reader.feed(text.substr(at));
    if (r) r = reader.finish();
    if (!r) o.error = r.error().message;
    return o;
}

Outcome read_chunks(std::string_view text, std::size_t chunk)
{
    std::vector<std::size_t> cuts;
    for (std::size_t at = chunk; at < text.size(); at += chunk) cuts.push_back(at);
    return read_cut(text, cuts);
}

Outcome read_whole(std::string_view text)
{
    Outcome o;
    auto r = common::deb::for_each_paragraph(text, [&](const Paragraph& p) { return record(o.paragraphs, p); });
    if (!r) o.error = r.error().message;
    return o;
}

const std::string k_text = "# a comment before anything\n"
                           "Package: a\n"
                           "Version: 1:2.3-4\n"
                           "Description: short\n"
                           " a longer line\n"
                           " .\n"
                           " the end\n"
                           "\n\n\n"
                           "Package: b\r\n"
                           "Depends: libc6 (>= 2.36),\n"
                           " libx | liby\n"
                           "# a comment inside\n"
                           "Size:   42  \n"
                           " \t \n"
                           "Package: c\n"
                           "SHA256:\n"
                           " abc 1 main/x\n"
                           " def 2 main/y"; // the last line has no newline

} // namespace

TEST_CASE("ParagraphReader gives the same paragraphs and lines for any chunking")
{
    Outcome whole = read_whole(k_text);
    REQUIRE(whole.error.empty());
    REQUIRE(whole.paragraphs.size() == 3);
    CHECK(whole.paragraphs[0].line == 2);
    CHECK(whole.paragraphs[0].fields[2] == std::pair<std::string, std::string>{"Description", "short\n a longer line\n .\n the end"});
    CHECK(whole.paragraphs[1].line == 11);
    CHECK(whole.paragraphs[1].fields[2] == std::pair<std::string, std::string>{"Size", "42"});
    CHECK(whole.paragraphs[2].line == 17);
    CHECK(common::deb::value_lines(whole.paragraphs[2].fields[1].second) == std::vector<std::string_view>{"abc 1 main/x", "def 2 main/y"});
    for (std::size_t chunk : {1, 7, 4096}) {
        CAPTURE(chunk);
        CHECK(read_chunks(k_text, chunk).paragraphs == whole.paragraphs);
    }
    // Split once and twice anywhere: inside a name, a value, a line ending, between paragraphs.
    for (std::size_t a = 0; a <= k_text.size(); ++a) {
        CAPTURE(a);
        REQUIRE(read_cut(k_text, {a}).paragraphs == whole.paragraphs);
        for (std::size_t b = a; b <= k_text.size(); b += 5) REQUIRE(read_cut(k_text, {a, b}).paragraphs == whole.paragraphs);
    }
}

TEST_CASE("ParagraphReader names the right line across chunk boundaries")
{
    std::string text = k_text + "\n\nPackage: d\nVersion: 1\nnot a field\n";
    Outcome whole = read_whole(text);
    CHECK(whole.error == "line 24: expected 'Field: value'");
    CHECK(whole.paragraphs.size() == 3);
    for (std::size_t chunk : {1, 7, 4096}) {
        CAPTURE(chunk);
        Outcome o = read_chunks(text, chunk);
        CHECK(o.error == whole.error);
        CHECK(o.paragraphs == whole.paragraphs);
    }
    std::string orphan = "Package: a\n\n continued\n";
    for (std::size_t chunk : {1, 7, 4096}) CHECK(read_chunks(orphan, chunk).error == "line 3: continuation line without a field");
    // The caller's error stops the reader, and the reader says so if fed again.
    ParagraphReader stop([](const Paragraph& p) -> common::Result<void> {
        return common::fail(common::Errc::corrupt, "refused {}", p.line);
    });
    auto r = stop.feed("Package: a\n\nPackage: b\n\n");
    REQUIRE(!r);
    CHECK(r.error().code == common::Errc::corrupt);
    CHECK(r.error().message == "refused 1");
    CHECK(!stop.feed("Package: c\n\n"));
}

TEST_CASE("ParagraphReader buffers one paragraph - not the stream - and refuses one over its cap")
{
    std::size_t count = 0;
    ParagraphReader reader(
        [&](const Paragraph&) -> common::Result<void> {
            ++count;
            return {};
        },
        1000);
    std::string stanza = "Package: p\nDescription: " + std::string(500, 'x') + "\n\n";
    for (int i = 0; i < 1000; ++i) REQUIRE(reader.feed(stanza)); // 0.5 MB in all, 500 bytes at a time
    REQUIRE(reader.finish());
    CHECK(count == 1000);
    CHECK(reader.lines() == 3000);

    ParagraphReader capped([](const Paragraph&) -> common::Result<void> { return {}; }, 1000);
    REQUIRE(capped.feed("Package: p\n\nPackage: q\n"));
    auto r = capped.feed("Description: " + std::string(2000, 'x'));
    REQUIRE(!r);
    CHECK(r.error().code == common::Errc::invalid_argument);
    CHECK(r.error().message == "line 3: paragraph is over 1000 bytes");
}

TEST_SUITE_END();
