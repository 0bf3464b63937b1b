// SPDX-License-Identifier: Apache-2.0
// Bounds of the bundle readers on untrusted input: sizes that would wrap, pax numbers that would wrap,
// zero padding that would cost unbounded reading, bundle.json integers that get<T>() would wrap or truncate.
#include <doctest/doctest.h>

#include "scratch.hpp"

#include <common/bundle/bundle_index.hpp>
#include <common/bundle/payload_reader.hpp>
#include <common/bundle/trailer.hpp>
#include <common/io/file.hpp>

#include <zstd.h>

#include <cstring>
#include <limits>
#include <map>

using common::Errc;
using common::bundle::BundleIndex;
using common::bundle::k_trailer_size;
using common::bundle::parse_pax;
using common::bundle::PayloadReader;
using common::bundle::Trailer;

TEST_SUITE_BEGIN("seam");

namespace {

constexpr std::uint64_t k_u64_max = ~std::uint64_t{0};

Trailer sized(std::uint64_t installer, std::uint64_t payload)
{
    Trailer t;
    t.installer_size = installer;
    t.payload_offset = installer;
    t.payload_size = payload;
    return t;
}

// A POSIX ustar header block for `path` with `size` and `type`, checksum filled in.
std::string ustar_header(const std::string& path, std::uint64_t size, char type = '0')
{
    std::string h(512, '\0');
    std::memcpy(h.data(), path.data(), std::min<std::size_t>(path.size(), 100));
    std::memcpy(h.data() + 100, "0000644", 7);
    std::string sz = fmt::format("{:011o}", size);
    std::memcpy(h.data() + 124, sz.data(), 11);
    h[156] = type;
    std::memcpy(h.data() + 257, "ustar\0" "00", 8);
    std::memset(h.data() + 148, ' ', 8);
    unsigned sum = 0;
    for (char c : h) sum += static_cast<unsigned char>(c);
    std::string chk = fmt::format("{:06o}", sum);
    std::memcpy(h.data() + 148, chk.data(), 6);
    h[154] = '\0';
    return h;
}

std::string padded(std::string data)
{
    data.resize((data.size() + 511) / 512 * 512, '\0');
    return data;
}

// Compresses `tar` into one zstd frame in a scratch file and reads it to the end: every entry's data,
// then finish(). Returns the first error.
common::Result<void> read_all(const Scratch& s, const std::string& tar)
{
    std::string z(ZSTD_compressBound(tar.size()), '\0');
    std::size_t n = ZSTD_compress(z.data(), z.size(), tar.data(), tar.size(), 3);
    REQUIRE(!ZSTD_isError(n));
    z.resize(n);
    auto path = s.write("payload.zst", z);
    auto file = common::io::File::open_read(path.string());
    REQUIRE(file);
    PayloadReader reader(*file, 0, z.size());
    for (;;) {
        auto entry = reader.next();
        if (!entry) return common::fail(entry.error());
        if (!*entry) break;
        std::array<std::byte, 4096> buf;
        for (;;) {
            auto got = reader.read(buf);
            if (!got) return common::fail(got.error());
            if (*got == 0) break;
        }
    }
    auto digest = reader.finish();
    if (!digest) return common::fail(digest.error());
    return {};
}

const std::string k_json = "{}";
const std::string k_entry = ustar_header("bundle.json", k_json.size()) + padded(k_json);

// A valid bundle.json with one blob, one file, one deb and one role; `patch` replaces one value.
std::string index_json(const std::string& key, const std::string& value)
{
    const std::string hex(64, 'a');
    std::map<std::string, std::string> v = {{"format", "1"},  {"created", "1700000000"}, {"blob_size", "5"},
                                            {"file_size", "5"}, {"deb_size", "5"},        {"cpus", "2"},
                                            {"memory", "4.0"},  {"disk", "10"}};
    v.at(key) = value;
    return fmt::format(R"({{"format": {}, "profile": "p", "version": "1", "created": {},
      "platforms": [{{"os": "debian", "release": "12", "arch": "amd64"}}],
      "roles": {{"master": {{"phases": ["preflight"], "minima": {{"cpus": {}, "memory_gb": {}, "disk_gb": {}}}}}}},
      "blobs": [{{"digest": "sha256:{}", "size": {}}}],
      "files": [{{"name": "f", "install": "/opt/f", "mode": "0644", "digest": "sha256:{}", "size": {}}}],
      "debs": {{"debian-12": [{{"name": "d", "version": "1", "architecture": "amd64", "filename": "pool/d.deb",
                               "digest": "sha256:{}", "size": {}}}]}}}})",
                       v["format"], v["created"], v["cpus"], v["memory"], v["disk"], hex, v["blob_size"], hex,
                       v["file_size"], hex, v["deb_size"]);
}

} // namespace

TEST_CASE("Trailer::decode refuses sizes beyond the file and sums that overflow 64 bits")
{
    SUBCASE("exact sizes pass")
    {
        CHECK(Trailer::decode(sized(100, 200).encode(), 100 + 200 + k_trailer_size));
    }
    SUBCASE("an installer size that wraps the sum to the file size")
    {
        std::uint64_t file = 1000;
        auto t = Trailer::decode(sized(std::uint64_t{1} << 63, (std::uint64_t{1} << 63) + file - k_trailer_size).encode(), file);
        REQUIRE(!t);
        CHECK(t.error().code == Errc::corrupt);
        CHECK(t.error().message == "trailer installer size 9223372036854775808 is larger than the file (1000 bytes)");
    }
    SUBCASE("a payload size larger than the file")
    {
        auto t = Trailer::decode(sized(100, k_u64_max).encode(), 1000);
        REQUIRE(!t);
        CHECK(t.error().code == Errc::corrupt);
        CHECK(t.error().message == "trailer payload size 18446744073709551615 is larger than the file (1000 bytes)");
    }
    SUBCASE("a sum that overflows, file size unknown")
    {
        auto t = Trailer::decode(sized(k_u64_max - 100, 50).encode(), 0);
        REQUIRE(!t);
        CHECK(t.error().code == Errc::corrupt);
        CHECK(t.error().message.find("overflows 64 bits") != std::string::npos);
        CHECK(!Trailer::decode(sized(k_u64_max - 287, 0).encode(), 0));
        CHECK(Trailer::decode(sized(k_u64_max - 288, 0).encode(), 0));
    }
}

TEST_CASE("parse_pax reads path and size records")
{
    auto pax = parse_pax("20 path=bundle.json\n13 size=1234\n");
    REQUIRE(pax);
    CHECK(pax->path == "bundle.json");
    CHECK(pax->size == 1234u);
    auto later = parse_pax("29 size=18446744073709551615\n", *pax);
    REQUIRE(later);
    CHECK(later->path == "bundle.json");
    CHECK(later->size == k_u64_max);
}

TEST_CASE("parse_pax refuses lengths and sizes that would wrap")
{
    auto refused = [](std::string_view data, std::string_view says) {
        CAPTURE(data);
        auto pax = parse_pax(data);
        REQUIRE(!pax);
        CHECK(pax.error().code == Errc::corrupt);
        CHECK(pax.error().message.find(says) != std::string::npos);
    };
    refused("9999999999999999999999999 path=x\n", "record length 9999999999999999999999999 is out of range");
    // 2^64 + 38 wraps to 38, this record's true length.
    refused("18446744073709551654 path=bundle.json\n", "record length 18446744073709551654 is out of range");
    refused("29 size=18446744073709551616\n", "size 18446744073709551616 does not fit in 64 bits");
    refused("50 size=99999999999999999999999999999999999999999\n", "does not fit in 64 bits");
    refused("8 size=\n", "size is empty");
    refused("11 size=-1\n", "is not a decimal number");
    refused(" path=x\n", "out of range");
    refused("8x path=x\n", "malformed record length");
}

TEST_CASE("PayloadReader::finish allows one tar record of zero padding - no more")
{
    Scratch s;
    const std::string first_zero(512, '\0');
    CHECK(read_all(s, k_entry + first_zero));
    CHECK(read_all(s, k_entry + first_zero + std::string(10240, '\0')));
    auto over = read_all(s, k_entry + first_zero + std::string(10241, '\0'));
    REQUIRE(!over);
    CHECK(over.error().code == Errc::corrupt);
    CHECK(over.error().message == "payload: more than 10240 bytes of zero padding after the end-of-archive block");
    auto far = read_all(s, k_entry + first_zero + std::string(16 << 20, '\0'));
    REQUIRE(!far);
    CHECK(far.error().code == Errc::corrupt);
    auto data = read_all(s, k_entry + first_zero + std::string(100, '\0') + "x");
    REQUIRE(!data);
    CHECK(data.error().message == "payload: data after the end of the archive");
}

TEST_CASE("PayloadReader bounds the pax headers before one entry")
{
    Scratch s;
    const std::string record = "20 path=bundle.json\n";
    const std::string pax = ustar_header("PaxHeaders/x", record.size(), 'x') + padded(record);
    std::string eight, nine;
    for (int i = 0; i < 8; ++i) eight += pax;
    nine = eight + pax;
    CHECK(read_all(s, eight + k_entry + std::string(512, '\0')));
    auto refused = read_all(s, nine + k_entry + std::string(512, '\0'));
    REQUIRE(!refused);
    CHECK(refused.error().code == Errc::corrupt);
    CHECK(refused.error().message == "payload: more than 8 pax headers before entry 1");
    // A pax header with no record honoured still needs an entry after it.
    const std::string other = "15 mtime=12345\n";
    auto dangling = read_all(s, k_entry + ustar_header("PaxHeaders/x", other.size(), 'x') + padded(other) + std::string(512, '\0'));
    REQUIRE(!dangling);
    CHECK(dangling.error().message == "payload: pax header without an entry");
}

TEST_CASE("BundleIndex::parse refuses integers that would wrap or truncate - naming the field")
{
    REQUIRE(BundleIndex::parse(index_json("format", "1")));
    struct Case {
        std::string key, value, message;
    };
    const Case cases[] = {
        {"blob_size", "-1", "bundle.json: blobs[0].size: -1 is not a non-negative integer"},
        {"blob_size", "2.5", "bundle.json: blobs[0].size: 2.5 is not a non-negative integer"},
        {"blob_size", "1e30", "bundle.json: blobs[0].size: 1e+30 is out of range (0 to 18446744073709551615)"},
        {"blob_size", "18446744073709551616",
         "bundle.json: blobs[0].size: 1.8446744073709552e+19 is out of range (0 to 18446744073709551615)"},
        {"blob_size", "\"5\"", "bundle.json: blobs[0].size: \"5\" is not a non-negative integer"},
        {"file_size", "-1", "bundle.json: files[f].size: -1 is not a non-negative integer"},
        {"deb_size", "2.5", "bundle.json: debs[debian-12][d].size: 2.5 is not a non-negative integer"},
        {"format", "-1", "bundle.json: format: -1 is not a non-negative integer"},
        {"format", "4294967297", "bundle.json: format: 4294967297 is out of range (0 to 4294967295)"},
        {"format", "1.5", "bundle.json: format: 1.5 is not a non-negative integer"},
        {"created", "2.5", "bundle.json: created: 2.5 is not an integer"},
        {"created", "1e30", "bundle.json: created: 1e+30 is out of range (-9223372036854775808 to 9223372036854775807)"},
        {"created", "9223372036854775808",
         "bundle.json: created: 9223372036854775808 is out of range (-9223372036854775808 to 9223372036854775807)"},
        {"cpus", "-1", "bundle.json: roles[master].minima.cpus: -1 is not a non-negative integer"},
        {"cpus", "2.5", "bundle.json: roles[master].minima.cpus: 2.5 is not a non-negative integer"},
        {"cpus", "4294967296", "bundle.json: roles[master].minima.cpus: 4294967296 is out of range (0 to 4294967295)"},
        {"memory", "-1", "bundle.json: roles[master].minima.memory_gb: -1 is not a finite non-negative number"},
        {"disk", "-0.5", "bundle.json: roles[master].minima.disk_gb: -0.5 is not a finite non-negative number"},
        {"disk", "\"10\"", "bundle.json: roles[master].minima.disk_gb: \"10\" is not a finite non-negative number"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.key);
        CAPTURE(c.value);
        auto idx = BundleIndex::parse(index_json(c.key, c.value));
        REQUIRE(!idx);
        CHECK(idx.error().code == Errc::corrupt);
        CHECK(idx.error().message == c.message);
    }
}

TEST_CASE("BundleIndex::parse keeps in-range integers exact")
{
    auto idx = BundleIndex::parse(index_json("created", "-9223372036854775808"));
    REQUIRE(idx);
    CHECK(idx->created == std::numeric_limits<std::int64_t>::min());
    auto big = BundleIndex::parse(index_json("blob_size", "18446744073709551615"));
    REQUIRE(!big); // the file's size (5) is then not the listed one
    CHECK(big.error().message.find("not in the blob list") != std::string::npos);
    auto cpus = BundleIndex::parse(index_json("cpus", "4294967295"));
    REQUIRE(cpus);
    CHECK(cpus->roles.at("master").minima.cpus == 4294967295u);
    auto unsupported = BundleIndex::parse(index_json("format", "2"));
    REQUIRE(!unsupported);
    CHECK(unsupported.error().code == Errc::unsupported);
}

TEST_SUITE_END();
