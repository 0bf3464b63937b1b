// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include "scratch.hpp"

#include <common/io/file.hpp>
#include <common/store/blob_store.hpp>

#include <fstream>
#include <thread>
#include <vector>

using common::Errc;
using common::store::BlobRef;
using common::store::BlobStore;

TEST_SUITE_BEGIN("foundation");

namespace {
BlobRef ref_of(const std::string& s) { return {common::digest::sha256_of(s), s.size()}; }
std::span<const std::byte> bytes(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }
std::size_t files_in(const std::filesystem::path& dir)
{
    return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(dir), {}));
}
} // namespace

TEST_CASE("BlobStore::commit publishes a verified blob under blobs/sha256/<hex>")
{
    Scratch s;
    auto store = BlobStore::open(s / "store");
    REQUIRE(store);
    BlobRef ref = ref_of("hello");
    auto ingest = store->begin(ref);
    REQUIRE(ingest);
    REQUIRE(ingest->write(bytes("hel")));
    REQUIRE(ingest->write(bytes("lo")));
    REQUIRE(ingest->commit());
    CHECK(store->contains(ref));
    CHECK(store->blob_path(ref.digest) == s / "store/blobs/sha256" / ref.digest.hex());
    CHECK(store->verify(ref));
    CHECK(files_in(s / "store/ingest") == 0);
}

TEST_CASE("BlobStore::commit rejects a digest mismatch and leaves nothing behind")
{
    Scratch s;
    auto store = BlobStore::open(s / "store");
    REQUIRE(store);
    BlobRef want = ref_of("hello");
    {
        auto ingest = store->begin(want);
        REQUIRE(ingest);
        REQUIRE(ingest->write(bytes("HELLO")));
        auto r = ingest->commit();
        REQUIRE(!r);
        CHECK(r.error().code == Errc::digest_mismatch);
        CHECK(r.error().message.find(want.digest.str()) != std::string::npos);
        CHECK(r.error().message.find(common::digest::sha256_of("HELLO").str()) != std::string::npos);
    }
    CHECK(!store->contains(want));
    CHECK(files_in(s / "store/ingest") == 0);
}

TEST_CASE("BlobStore is safe for concurrent writers of the same and different blobs")
{
    Scratch s;
    auto store = BlobStore::open(s / "store");
    REQUIRE(store);
    std::vector<std::string> contents;
    for (int i = 0; i < 4; ++i) contents.push_back(std::string(200000 + i, static_cast<char>('a' + i)));
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&, t] {
            const std::string& c = contents[static_cast<std::size_t>(t % 4)];
            auto ingest = store->begin(ref_of(c));
            if (!ingest) return void(++failures);
            for (std::size_t off = 0; off < c.size(); off += 4096)
                if (!ingest->write(bytes(c.substr(off, 4096)))) return void(++failures);
            if (!ingest->commit()) ++failures;
        });
    }
    for (auto& th : threads) th.join();
    CHECK(failures == 0);
    for (const auto& c : contents) CHECK(store->verify(ref_of(c)));
    CHECK(files_in(s / "store/blobs/sha256") == 4);
    CHECK(files_in(s / "store/ingest") == 0);
}

TEST_CASE("BlobStore::verify catches a damaged blob that still has the right size")
{
    Scratch s;
    auto store = BlobStore::open(s / "store");
    REQUIRE(store);
    BlobRef ref = ref_of("payload");
    auto ingest = store->begin(ref);
    REQUIRE(ingest);
    REQUIRE(ingest->write(bytes("payload")));
    REQUIRE(ingest->commit());
    std::filesystem::permissions(store->blob_path(ref.digest), std::filesystem::perms::owner_write,
                                 std::filesystem::perm_options::add);
    std::ofstream(store->blob_path(ref.digest), std::ios::binary) << "PAYLOAD";
    CHECK(store->contains(ref)); // same size: contains() is no proof
    CHECK(store->verify(ref).error().code == Errc::digest_mismatch);
}

TEST_CASE("BlobStore::remove_stale_ingests drops what killed writers left")
{
    Scratch s;
    auto store = BlobStore::open(s / "store");
    REQUIRE(store);
    s.write("store/ingest/abandoned.123", "partial");
    auto removed = store->remove_stale_ingests();
    REQUIRE(removed);
    CHECK(*removed == 1);
    CHECK(files_in(s / "store/ingest") == 0);
}

TEST_CASE("BlobStore::begin_unknown publishes under the digest of what was written")
{
    Scratch s;
    auto store = BlobStore::open(s / "store");
    REQUIRE(store);
    auto ingest = store->begin_unknown();
    REQUIRE(ingest);
    REQUIRE(ingest->write(bytes("fetched")));
    auto ref = ingest->commit_as_written();
    REQUIRE(ref);
    CHECK(ref->digest == common::digest::sha256_of("fetched"));
    CHECK(ref->size == 7);
    CHECK(store->verify(*ref));
    CHECK(files_in(s / "store/ingest") == 0);
}

TEST_CASE("BlobStore ingest verified by the caller still refuses a wrong size")
{
    Scratch s;
    auto store = BlobStore::open(s / "store");
    REQUIRE(store);
    auto ingest = store->begin(ref_of("abc"), common::store::Verify::by_caller);
    REQUIRE(ingest);
    REQUIRE(ingest->write(bytes("ab")));
    CHECK(ingest->commit().error().code == Errc::size_mismatch);
}

TEST_CASE("BlobStore::copy_out copies a blob and refuses a damaged one")
{
    Scratch s;
    auto store = BlobStore::open(s / "store");
    REQUIRE(store);
    std::string content(9 * 1024 * 1024 + 5, 'q'); // more than one copy chunk
    content[12345] = 'x';
    BlobRef ref = ref_of(content);
    auto ingest = store->begin(ref);
    REQUIRE(ingest);
    REQUIRE(ingest->write(bytes(content)));
    REQUIRE(ingest->commit());
    {
        auto out = common::io::File::create((s / "copy").string());
        REQUIRE(out);
        REQUIRE(store->copy_out(ref, *out));
    }
    CHECK(common::io::read_file(s / "copy", 1u << 30).value() == content);

    BlobRef empty = ref_of("");
    auto e = store->begin(empty);
    REQUIRE(e);
    REQUIRE(e->commit());
    auto out_empty = common::io::File::create((s / "empty").string());
    REQUIRE(out_empty);
    CHECK(store->copy_out(empty, *out_empty));

    std::filesystem::permissions(store->blob_path(ref.digest), std::filesystem::perms::owner_write,
                                 std::filesystem::perm_options::add);
    {
        std::fstream f(store->blob_path(ref.digest), std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(100);
        f.put('Z');
    }
    auto out2 = common::io::File::create((s / "copy2").string());
    REQUIRE(out2);
    auto r = store->copy_out(ref, *out2);
    REQUIRE(!r);
    CHECK(r.error().code == Errc::digest_mismatch);
}

TEST_SUITE_END();

// Issue: a changed .deb names both digests; partial downloads are cleaned without racing live writers.
TEST_SUITE_BEGIN("seam");

TEST_CASE("BlobStore ingest stores no byte past the expected size and names what was served")
{
    Scratch s;
    auto store = BlobStore::open(s / "store");
    REQUIRE(store);
    BlobRef want = ref_of("abc");
    std::string sizes = "got 4 bytes (" + common::digest::sha256_of("abcd").str() + "), want 3 bytes (" + want.digest.str() + ")";
    {
        auto ingest = store->begin(want);
        REQUIRE(ingest);
        REQUIRE(ingest->write(bytes("ab")));
        REQUIRE(ingest->write(bytes("cd"))); // hashed, not stored
        CHECK(ingest->written() == 3);
        auto r = ingest->commit();
        REQUIRE(!r);
        CHECK(r.error().code == Errc::size_mismatch);
        CHECK(r.error().message.find("size mismatch: " + sizes) != std::string::npos);
    }
    CHECK(files_in(s / "store/ingest") == 0);
    CHECK(!store->contains(want));

    auto short_ingest = store->begin(want);
    REQUIRE(short_ingest);
    REQUIRE(short_ingest->write(bytes("ab")));
    auto r = short_ingest->commit();
    REQUIRE(!r);
    CHECK(r.error().code == Errc::size_mismatch);
    CHECK(r.error().message.find("got 2 bytes (" + common::digest::sha256_of("ab").str() + "), want 3 bytes (" + want.digest.str() + ")") !=
          std::string::npos);

    // The caller hashes (the node's store): no hash of the excess here, refused at once.
    auto by_caller = store->begin(want, common::store::Verify::by_caller);
    REQUIRE(by_caller);
    CHECK(by_caller->write(bytes("abcd")).error().code == Errc::size_mismatch);
}

TEST_CASE("BlobStore ingest stops hashing an excess past its bound and says the served digest is unknown")
{
    Scratch s;
    auto store = BlobStore::open(s / "store");
    REQUIRE(store);
    auto ingest = store->begin(ref_of("abc"));
    REQUIRE(ingest);
    std::string mib(1u << 20, 'z');
    REQUIRE(ingest->write(bytes("abc")));
    for (std::uint64_t i = 0; i < common::store::Ingest::k_max_excess_hashed >> 20; ++i) REQUIRE(ingest->write(bytes(mib)));
    auto over = ingest->write(bytes("!"));
    REQUIRE(!over);
    CHECK(over.error().code == Errc::size_mismatch);
    CHECK(over.error().message.find("sha256 unknown") != std::string::npos);
    CHECK(ingest->written() == 3);
    auto r = ingest->commit();
    REQUIRE(!r);
    CHECK(r.error().code == Errc::size_mismatch);
    CHECK(r.error().message.find("sha256 unknown") != std::string::npos);
    CHECK(r.error().message.find(ref_of("abc").digest.str()) != std::string::npos);
}

TEST_CASE("BlobStore::remove_stale_ingests leaves a live writer's ingest file alone")
{
    Scratch s;
    auto store = BlobStore::open(s / "store");
    REQUIRE(store);
    BlobRef ref = ref_of("in flight");
    auto live = store->begin(ref); // another bundler, mid-download: its Ingest holds an flock
    REQUIRE(live);
    REQUIRE(live->write(bytes("in ")));
    s.write("store/ingest/0123456789abcdef.dead01", "partial"); // a killed writer's: no lock
    auto removed = store->remove_stale_ingests();
    REQUIRE(removed);
    CHECK(*removed == 1);
    CHECK(files_in(s / "store/ingest") == 1);
    REQUIRE(live->write(bytes("flight")));
    REQUIRE(live->commit());
    CHECK(store->verify(ref));
    CHECK(files_in(s / "store/ingest") == 0);
}

TEST_CASE("remove_stale_temps removes a dead writer's temp file beside the target - not a live one's")
{
    Scratch s;
    std::filesystem::path target = s / "out.run";
    auto live = common::io::create_temp_beside(target);
    REQUIRE(live);
    std::string live_path = live->path();
    auto dead = common::io::create_temp_beside(target);
    REQUIRE(dead);
    std::string dead_path = dead->path();
    REQUIRE(dead->close()); // as a kill would: the lock goes, the file stays
    s.write("out.run.tmp-abcdef", "not ours: no leading dot");
    auto removed = common::io::remove_stale_temps(target);
    REQUIRE(removed);
    CHECK(*removed == 1);
    CHECK(std::filesystem::exists(live_path));
    CHECK(!std::filesystem::exists(dead_path));
    CHECK(std::filesystem::exists(s / "out.run.tmp-abcdef"));
    REQUIRE(common::io::write_file_atomic(target, "done")); // its own temp is renamed, never cleaned away
    CHECK(common::io::read_file(target).value() == "done");
    REQUIRE(live->close());
    CHECK(common::io::remove_stale_temps(target).value() == 1);
    CHECK(!std::filesystem::exists(live_path));
}

TEST_SUITE_END();
