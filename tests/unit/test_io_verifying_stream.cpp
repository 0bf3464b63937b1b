// SPDX-License-Identifier: Apache-2.0
// The one verifying stream (common/io) and the one bundle writer (common/bundle) built on it.
#include <doctest/doctest.h>

#include "scratch.hpp"

#include <common/bundle/bundle_file.hpp>
#include <common/bundle/bundle_writer.hpp>
#include <common/io/string_stream.hpp>
#include <common/io/verifying_stream.hpp>

using common::Errc;
using common::digest::sha256_of;
using common::io::Expected;
using common::io::StringSink;
using common::io::StringSource;
using common::io::VerifyingSink;
using common::io::VerifyingSource;

TEST_SUITE_BEGIN("seam");

namespace {

// Reads a source to its end; the error if it fails.
common::Result<std::string> drain(common::io::Source& in)
{
    StringSink out(1 << 20, "test");
    TRY_VOID(common::io::copy(in, out));
    return out.take();
}

} // namespace

TEST_CASE("VerifyingSource gives the bytes - then end of stream only once they matched")
{
    const std::string data = "the expected bytes";
    Expected want{sha256_of(data), data.size()};
    SUBCASE("exact")
    {
        StringSource src(data);
        VerifyingSource v(src, want, "blob x");
        CHECK(drain(v).value() == data);
    }
    SUBCASE("short: size_mismatch instead of end of stream")
    {
        StringSource src(std::string_view(data).substr(0, 5));
        VerifyingSource v(src, want, "blob x");
        auto r = drain(v);
        REQUIRE(!r);
        CHECK(r.error().code == Errc::size_mismatch);
        CHECK(r.error().message == "blob x: size mismatch: got 5 bytes, want 18 bytes");
    }
    SUBCASE("long: never reads past the expected size, then refuses")
    {
        std::string longer = data + "!";
        StringSource src(longer);
        VerifyingSource v(src, want, "blob x");
        auto r = drain(v);
        REQUIRE(!r);
        CHECK(r.error().code == Errc::size_mismatch);
    }
    SUBCASE("same size, other bytes: digest_mismatch naming both digests")
    {
        std::string other(data.size(), 'x');
        StringSource src(other);
        VerifyingSource v(src, want, "blob x");
        auto r = drain(v);
        REQUIRE(!r);
        CHECK(r.error().code == Errc::digest_mismatch);
        CHECK(r.error().message == fmt::format("blob x: sha256 mismatch: got {}, want {}", sha256_of(other).str(), want.digest.str()));
    }
}

TEST_CASE("VerifyingSink passes bytes on - refuses more than expected - and checks at the end")
{
    StringSink out(100, "out");
    VerifyingSink v(&out, Expected{sha256_of("abc"), 3}, "x");
    REQUIRE(v.write(std::as_bytes(std::span("ab", 2))));
    CHECK(v.write(std::as_bytes(std::span("cd", 2))).error().code == Errc::size_mismatch);
    REQUIRE(v.write(std::as_bytes(std::span("c", 1))));
    auto got = v.check();
    REQUIRE(got);
    CHECK(got->size == 3);
    CHECK(out.take() == "abc");
}

TEST_CASE("write_bundle writes a file the reader accepts - and refuses a bad installer or a changed blob")
{
    Scratch s;
    auto installer = s.write("installer", std::string("\x7f" "ELF", 4) + std::string(60, '\0'));
    auto blob_path = s.write("blob", "a pinned binary\n");
    common::store::BlobRef blob{sha256_of("a pinned binary\n"), 16};
    common::bundle::BundleIndex index;
    index.profile = "p";
    index.version = "1";
    index.roles["master"].phases = {"preflight", "store"};
    index.blobs = {blob};
    auto open = [&](const common::store::BlobRef&) { return common::io::File::open_read(blob_path.string()); };
    auto write_to = [&](const std::filesystem::path& inst, const std::filesystem::path& out) -> common::Result<common::bundle::WrittenBundle> {
        auto file = common::io::File::create(out.string(), 0755);
        if (!file) return common::fail(file.error());
        return common::bundle::write_bundle(inst, index, open, *file, {});
    };

    auto written = write_to(installer, s / "ok.run");
    REQUIRE(written);
    auto bf = common::bundle::BundleFile::open(s / "ok.run");
    REQUIRE(bf);
    auto read = bf->verify_all();
    REQUIRE(read);
    CHECK(read->blobs.size() == 1);
    CHECK(written->file_size == std::filesystem::file_size(s / "ok.run"));

    auto nested = write_to(s / "ok.run", s / "nested.run");
    REQUIRE(!nested);
    CHECK(nested.error().code == Errc::invalid_argument);
    CHECK(nested.error().message.find("already a bundle") != std::string::npos);
    auto not_elf = write_to(blob_path, s / "not-elf.run");
    REQUIRE(!not_elf);
    CHECK(not_elf.error().message.find("is not an ELF executable") != std::string::npos);

    s.write("blob", "a pinned binarY\n"); // changed in the cache since it was verified
    auto changed = write_to(installer, s / "changed.run");
    REQUIRE(!changed);
    CHECK(changed.error().code == Errc::digest_mismatch);
    CHECK(changed.error().message.find(blob_path.string()) != std::string::npos);
}

TEST_SUITE_END();
