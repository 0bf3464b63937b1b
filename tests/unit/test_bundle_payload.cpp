// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include "scratch.hpp"

#include <common/bundle/payload_reader.hpp>
#include <common/bundle/payload_writer.hpp>
#include <common/io/file.hpp>

#include <archive.h>
#include <archive_entry.h>
#include <zstd.h>

#include <random>

using common::Errc;
using common::bundle::PayloadReader;
using common::bundle::PayloadWriter;

TEST_SUITE_BEGIN("foundation");

namespace {

class StringSource : public common::io::Source {
public:
    explicit StringSource(std::string s) : m_data(std::move(s)) {}
    common::Result<std::size_t> read(std::span<std::byte> out) override
    {
        std::size_t n = std::min(out.size(), m_data.size() - m_pos);
        std::memcpy(out.data(), m_data.data() + m_pos, n);
        m_pos += n;
        return n;
    }

private:
    std::string m_data;
    std::size_t m_pos = 0;
};

std::string random_bytes(std::size_t n, unsigned seed)
{
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    return s;
}

std::string hex_of(const std::string& s) { return common::digest::sha256_of(s).hex(); }

// Writes a payload with our writer; returns its path.
std::filesystem::path write_payload(const Scratch& s, const std::string& name,
                                    const std::vector<std::pair<std::string, std::string>>& entries, unsigned threads)
{
    auto file = common::io::File::create((s / name).string());
    REQUIRE(file);
    auto writer = PayloadWriter::open(*file, {3, threads, 1700000000});
    REQUIRE(writer);
    for (const auto& [path, content] : entries) {
        StringSource src(content);
        REQUIRE(writer->add(path, content.size(), src));
    }
    REQUIRE(writer->finish());
    return s / name;
}

// Reads every entry back; returns (path, content) pairs or the first error.
common::Result<std::vector<std::pair<std::string, std::string>>> read_payload(const std::filesystem::path& path)
{
    auto file = common::io::File::open_read(path.string());
    REQUIRE(file);
    PayloadReader reader(*file, 0, file->size().value());
    std::vector<std::pair<std::string, std::string>> out;
    for (;;) {
        auto entry = reader.next();
        if (!entry) return common::fail(entry.error());
        if (!*entry) break;
        std::string content;
        std::array<std::byte, 7777> buf;
        for (;;) {
            auto n = reader.read(buf);
            if (!n) return common::fail(n.error());
            if (*n == 0) break;
            content.append(reinterpret_cast<const char*>(buf.data()), *n);
        }
        out.emplace_back((*entry)->path, content);
    }
    auto digest = reader.finish();
    if (!digest) return common::fail(digest.error());
    return out;
}

enum class Kind { file, symlink, hardlink, dir };

// A tar made by libarchive directly (not our writer), zstd-compressed: how an attacker would craft one.
std::filesystem::path craft(const Scratch& s, const std::vector<std::tuple<std::string, Kind, std::string>>& members)
{
    std::vector<char> tar(1 << 20);
    std::size_t used = 0;
    archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_open_memory(a, tar.data(), tar.size(), &used);
    for (const auto& [path, kind, data] : members) {
        archive_entry* e = archive_entry_new();
        archive_entry_set_pathname(e, path.c_str());
        archive_entry_set_perm(e, 0644);
        switch (kind) {
        case Kind::file:
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
            break;
        case Kind::symlink:
            archive_entry_set_filetype(e, AE_IFLNK);
            archive_entry_set_symlink(e, data.c_str());
            break;
        case Kind::hardlink:
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_hardlink(e, data.c_str());
            break;
        case Kind::dir: archive_entry_set_filetype(e, AE_IFDIR); break;
        }
        archive_write_header(a, e);
        if (kind == Kind::file) archive_write_data(a, data.data(), data.size());
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
    std::string z(ZSTD_compressBound(used), '\0');
    z.resize(ZSTD_compress(z.data(), z.size(), tar.data(), used, 3));
    return s.write("crafted.tar.zst", z);
}

} // namespace

TEST_CASE("PayloadWriter output reads back entry by entry with PayloadReader")
{
    Scratch s;
    std::string big = random_bytes(3 * 1024 * 1024 + 3, 1);
    std::string small = "tiny";
    auto path = write_payload(s, "p.zst",
                              {{"bundle.json", "{}"}, {"blobs/sha256/" + hex_of(big), big}, {"blobs/sha256/" + hex_of(small), small}}, 2);
    auto entries = read_payload(path);
    REQUIRE(entries);
    REQUIRE(entries->size() == 3);
    CHECK((*entries)[0].first == "bundle.json");
    CHECK((*entries)[1].second == big);
    CHECK((*entries)[2].second == small);
}

TEST_CASE("PayloadWriter output does not depend on the zstd thread count")
{
    Scratch s;
    std::string data = random_bytes(2 * 1024 * 1024, 2) + std::string(6 * 1024 * 1024, 'z');
    std::vector<std::pair<std::string, std::string>> entries{{"bundle.json", "{\"a\":1}"}, {"blobs/sha256/" + hex_of(data), data}};
    auto one = common::io::read_file(write_payload(s, "1.zst", entries, 1), 1u << 30);
    auto two = common::io::read_file(write_payload(s, "2.zst", entries, 2), 1u << 30);
    auto four = common::io::read_file(write_payload(s, "4.zst", entries, 4), 1u << 30);
    REQUIRE(one);
    REQUIRE(two);
    REQUIRE(four);
    CHECK(*one == *two);
    CHECK(*one == *four);
}

TEST_CASE("check_entry_path allows only bundle.json and blobs/sha256/<hex>")
{
    std::string hex(64, 'a');
    CHECK(common::bundle::check_entry_path("bundle.json"));
    CHECK(common::bundle::check_entry_path("blobs/sha256/" + hex));
    for (std::string bad : std::vector<std::string>{"../etc/passwd", "/etc/passwd", "blobs/sha256/../../x",
                            "blobs/sha256/" + hex + "/x", "blobs/sha256/" + std::string(64, 'A'), std::string("etc/passwd"),
                            std::string("blobs/sha256/abc"), std::string("./bundle.json")}) {
        CAPTURE(bad);
        auto r = common::bundle::check_entry_path(bad);
        REQUIRE(!r);
        CHECK(r.error().code == Errc::corrupt);
        CHECK(r.error().message.find(bad) != std::string::npos);
    }
}

TEST_CASE("PayloadReader refuses links - directories and escaping paths - naming the entry")
{
    Scratch s;
    std::string hex = hex_of("x");
    struct Case {
        std::string name;
        std::vector<std::tuple<std::string, Kind, std::string>> members;
        std::string named;
    };
    std::vector<Case> cases{
        {"dot-dot", {{"bundle.json", Kind::file, "{}"}, {"blobs/../../escape", Kind::file, "x"}}, "blobs/../../escape"},
        {"absolute", {{"bundle.json", Kind::file, "{}"}, {"/tmp/escape", Kind::file, "x"}}, "/tmp/escape"},
        {"symlink", {{"bundle.json", Kind::file, "{}"}, {"blobs/sha256/" + hex, Kind::symlink, "/etc/passwd"}}, "symbolic link"},
        {"hardlink", {{"bundle.json", Kind::file, "{}"}, {"blobs/sha256/" + hex, Kind::hardlink, "bundle.json"}}, "hard link"},
        {"directory", {{"bundle.json", Kind::file, "{}"}, {"blobs/sha256", Kind::dir, ""}}, "directory"},
        {"other path", {{"bundle.json", Kind::file, "{}"}, {"etc/passwd", Kind::file, "x"}}, "etc/passwd"},
        {"index not first", {{"blobs/sha256/" + hex, Kind::file, "x"}, {"bundle.json", Kind::file, "{}"}}, "must come first"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.name);
        auto r = read_payload(craft(s, c.members));
        REQUIRE(!r);
        CHECK(r.error().code == Errc::corrupt);
        CHECK(r.error().message.find(c.named) != std::string::npos);
    }
}

TEST_CASE("PayloadReader reports a truncated payload")
{
    Scratch s;
    std::string data = random_bytes(300000, 3);
    auto path = write_payload(s, "p.zst", {{"bundle.json", "{}"}, {"blobs/sha256/" + hex_of(data), data}}, 1);
    std::filesystem::resize_file(path, std::filesystem::file_size(path) - 100);
    auto r = read_payload(path);
    REQUIRE(!r);
    CHECK(r.error().code == Errc::corrupt);
}

TEST_SUITE_END();
