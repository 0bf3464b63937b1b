// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <common/bundle/trailer.hpp>

using common::Errc;
using common::bundle::k_trailer_size;
using common::bundle::Trailer;

TEST_SUITE_BEGIN("foundation");

namespace {
Trailer sample()
{
    Trailer t;
    t.installer_size = 1000;
    t.payload_offset = 1000;
    t.payload_size = 5000;
    t.bundle_json_size = 77;
    t.installer_sha256 = common::digest::sha256_of("installer");
    t.payload_sha256 = common::digest::sha256_of("payload");
    t.bundle_json_sha256 = common::digest::sha256_of("bundle.json");
    return t;
}
constexpr std::uint64_t k_file_size = 1000 + 5000 + k_trailer_size;
} // namespace

TEST_CASE("Trailer round-trips through encode and decode")
{
    auto raw = sample().encode();
    auto t = Trailer::decode(raw, k_file_size);
    REQUIRE(t);
    CHECK(t->installer_size == 1000);
    CHECK(t->payload_size == 5000);
    CHECK(t->payload_sha256 == common::digest::sha256_of("payload"));
    CHECK(t->bundle_json_sha256 == common::digest::sha256_of("bundle.json"));
    CHECK(t->flags == 0);
}

TEST_CASE("Trailer::decode refuses any flipped byte")
{
    const auto good = sample().encode();
    for (std::size_t i = 0; i < k_trailer_size; ++i) {
        auto raw = good;
        raw[i] ^= std::byte{0x01};
        CAPTURE(i);
        auto t = Trailer::decode(raw, k_file_size);
        CHECK(!t);
    }
}

TEST_CASE("Trailer::decode refuses a size that does not match the file")
{
    auto raw = sample().encode();
    auto t = Trailer::decode(raw, k_file_size - 1);
    REQUIRE(!t);
    CHECK(t.error().code == Errc::corrupt);
    CHECK(t.error().message.find("truncated") != std::string::npos);
}

TEST_CASE("Trailer::decode refuses an unknown format version with unsupported")
{
    Trailer t = sample();
    t.format_version = 2;
    auto raw = t.encode();
    auto r = Trailer::decode(raw, k_file_size);
    REQUIRE(!r);
    CHECK(r.error().code == Errc::unsupported);
}

TEST_SUITE_END();
