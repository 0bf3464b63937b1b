// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include "scratch.hpp"

#include <common/digest/sha256.hpp>

using common::digest::Digest;

TEST_SUITE_BEGIN("foundation");

TEST_CASE("Sha256 matches the FIPS 180-2 test vectors")
{
    CHECK(common::digest::sha256_of("").hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(common::digest::sha256_of("abc").hex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    common::digest::Sha256 h;
    for (int i = 0; i < 1000; ++i) h.update(std::string(1000, 'a'));
    CHECK(h.finish().hex() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("Digest::parse accepts sha256:<hex> and bare hex - refuses anything else")
{
    auto d = Digest::parse("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    REQUIRE(d);
    CHECK(d->str() == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(Digest::parse(d->hex()).value() == *d);
    CHECK(Digest::parse("sha256:abc").error().code == common::Errc::invalid_argument);
    CHECK(!Digest::parse("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"));
    CHECK(!Digest::parse("md5:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
}

TEST_CASE("sha256_file hashes a file in chunks")
{
    Scratch s;
    std::string big(3 * 1024 * 1024 + 7, 'x');
    auto got = common::digest::sha256_file(s.write("f", big).string());
    REQUIRE(got);
    CHECK(got->size == big.size());
    CHECK(got->digest == common::digest::sha256_of(big));
    CHECK(common::digest::sha256_file((s / "missing").string()).error().code == common::Errc::not_found);
}

TEST_SUITE_END();
