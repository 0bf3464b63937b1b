// SPDX-License-Identifier: Apache-2.0
// The payload's frames (docs/bundle-format.md 3.1 and 7): incompressible entries (image layers, .debs) each
// in a stored frame of raw blocks, everything else compressed at the configured level.
#include <doctest/doctest.h>

#include "scratch.hpp"

#include <common/bundle/payload_reader.hpp>
#include <common/bundle/payload_writer.hpp>
#include <common/io/file.hpp>
#include <common/io/string_stream.hpp>

#include <archive.h>
#include <archive_entry.h>
#include <zstd.h>

#include <map>
#include <random>
#include <set>

using common::Errc;
using common::bundle::Incompressible;
using common::bundle::PayloadReader;
using common::bundle::PayloadWriter;
using common::bundle::PayloadWriterOptions;

TEST_SUITE_BEGIN("images");

namespace {

using Entries = std::vector<std::pair<std::string, std::string>>;

// Each stored entry's tar header sits in a compressed frame of its own between two stored frames: at most
// this many bytes (docs/bundle-format.md 3.1; measured 133 to 140 with a 64-hex path, more with a pax header).
constexpr std::uint64_t k_header_frame_bound = 256;

std::string random_bytes(std::size_t n, unsigned seed)
{
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    return s;
}

// Log lines with counters and random fields: zstd -3 makes them several times smaller.
std::string text_bytes(std::size_t n, unsigned seed)
{
    std::mt19937 rng(seed);
    std::string s;
    for (unsigned i = 0; s.size() < n; ++i)
        s += fmt::format("2024-05-01 12:{:02}:{:02} INFO [worker-{}] GET /api/v1/items/{} status=200 bytes={}\n", i / 60 % 60,
                         i % 60, rng() % 16, rng() % 100000, rng() % 65536);
    s.resize(n);
    return s;
}

// An image layer: a tar of `content` through libarchive's gzip filter.
std::string gzip_layer(const std::string& content)
{
    std::string out(content.size() + (1 << 20), '\0');
    std::size_t used = 0;
    archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_add_filter_gzip(a);
    REQUIRE(archive_write_open_memory(a, out.data(), out.size(), &used) == ARCHIVE_OK);
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, "usr/share/app/log.txt");
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, static_cast<la_int64_t>(content.size()));
    REQUIRE(archive_write_header(a, e) == ARCHIVE_OK);
    REQUIRE(archive_write_data(a, content.data(), content.size()) == static_cast<la_ssize_t>(content.size()));
    archive_entry_free(e);
    REQUIRE(archive_write_close(a) == ARCHIVE_OK);
    archive_write_free(a);
    out.resize(used);
    return out;
}

std::string zstd_bytes(const std::string& content)
{
    std::string z(ZSTD_compressBound(content.size()), '\0');
    z.resize(ZSTD_compress(z.data(), z.size(), content.data(), content.size(), 3));
    return z;
}

std::string blob_path(const std::string& content) { return "blobs/sha256/" + common::digest::sha256_of(content).hex(); }

// A realistic mix: bundle.json, a gzip layer, a zstd layer, a .deb-like archive, a compressible binary
// stand-in, and small entries on both sides of the sampling threshold.
Entries mixed_entries()
{
    Entries e{{"bundle.json", "{\"format\":1}\n"}};
    for (std::string blob : {gzip_layer(random_bytes(200000, 1) + text_bytes(2'500'000, 2)), zstd_bytes(text_bytes(3'000'000, 3)),
                             "!<arch>\ndebian-binary   " + random_bytes(400'000, 4), text_bytes(1'500'000, 5),
                             gzip_layer(text_bytes(100'000, 6)), random_bytes(50'000, 7)})
        e.emplace_back(blob_path(blob), blob);
    return e;
}

PayloadWriterOptions options(unsigned threads, Incompressible mode = Incompressible::stored, int level = 3)
{
    PayloadWriterOptions o;
    o.level = level;
    o.threads = threads;
    o.mtime = 1700000000;
    o.incompressible = mode;
    return o;
}

std::string write_payload(const Entries& entries, const PayloadWriterOptions& o)
{
    common::io::StringSink sink(1u << 30, "payload");
    auto writer = PayloadWriter::open(sink, o);
    REQUIRE(writer);
    for (const auto& [path, content] : entries) {
        common::io::StringSource src(content);
        REQUIRE(writer->add(path, content.size(), src));
    }
    REQUIRE(writer->finish());
    return sink.take();
}

// Reads every entry back with the strict reader; also returns the digest finish() gave.
common::Result<std::pair<Entries, common::digest::Digest>> read_payload(const Scratch& s, const std::string& payload)
{
    auto path = s.write("payload.zst", payload);
    auto file = common::io::File::open_read(path.string());
    REQUIRE(file);
    PayloadReader reader(*file, 0, payload.size());
    Entries out;
    for (;;) {
        auto entry = reader.next();
        if (!entry) return common::fail(entry.error());
        if (!*entry) break;
        std::string content;
        std::array<std::byte, 70000> buf;
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
    return std::pair{out, *digest};
}

struct Frame {
    std::size_t offset = 0;
    std::size_t size = 0;
    unsigned long long content_size = ZSTD_CONTENTSIZE_UNKNOWN; // known for stored frames only
    bool checksum = false;
};

// The payload's zstd frames, one after another, as RFC 8878 frames them.
std::vector<Frame> frames_of(const std::string& payload)
{
    std::vector<Frame> out;
    for (std::size_t at = 0; at < payload.size();) {
        std::size_t n = ZSTD_findFrameCompressedSize(payload.data() + at, payload.size() - at);
        REQUIRE_FALSE(ZSTD_isError(n));
        unsigned long long content = ZSTD_getFrameContentSize(payload.data() + at, n);
        bool checksum = (static_cast<unsigned char>(payload[at + 4]) & 0x04) != 0;
        out.push_back({at, n, content, checksum});
        at += n;
    }
    return out;
}

// The sizes of the frames that declare their content size: the stored frames.
std::multiset<std::uint64_t> stored_sizes(const std::string& payload)
{
    std::multiset<std::uint64_t> out;
    for (const Frame& f : frames_of(payload))
        if (f.content_size != ZSTD_CONTENTSIZE_UNKNOWN) out.insert(f.content_size);
    return out;
}

} // namespace

TEST_CASE("PayloadWriter output with compressible and gzip entries does not depend on the thread count")
{
    Entries entries = mixed_entries();
    for (Incompressible mode : {Incompressible::stored, Incompressible::fast_frame}) {
        CAPTURE(static_cast<int>(mode));
        std::string one = write_payload(entries, options(1, mode));
        CHECK(one == write_payload(entries, options(2, mode)));
        CHECK(one == write_payload(entries, options(4, mode)));
        CHECK(one == write_payload(entries, options(0, mode)));
    }
}

TEST_CASE("PayloadReader reads every entry of a multi-frame payload back byte-exact")
{
    Scratch s;
    Entries entries = mixed_entries();
    for (Incompressible mode : {Incompressible::stored, Incompressible::fast_frame, Incompressible::same_stream}) {
        CAPTURE(static_cast<int>(mode));
        std::string payload = write_payload(entries, options(2, mode));
        auto back = read_payload(s, payload);
        REQUIRE(back);
        CHECK(back->first == entries);
        CHECK(back->second == common::digest::sha256_of(payload));
        if (mode != Incompressible::same_stream) CHECK(frames_of(payload).size() > 1);
        else CHECK(frames_of(payload).size() == 1);
    }
}

TEST_CASE("PayloadWriter holds an incompressible entry as raw blocks within the documented overhead")
{
    Scratch s;
    // Sizes around the 128 KiB raw block: exactly one block, one byte more, several blocks and a tail.
    Entries entries{{"bundle.json", "{}"}};
    std::uint64_t data = 0, bound = 0;
    for (std::string blob : {random_bytes(128 * 1024, 11), random_bytes(128 * 1024 + 1, 12),
                             gzip_layer(random_bytes(300'000, 13) + text_bytes(1'000'000, 14))}) {
        data += blob.size();
        bound += blob.size() + common::bundle::stored_frame_overhead(blob.size()) + k_header_frame_bound;
        entries.emplace_back(blob_path(blob), blob);
    }
    std::string payload = write_payload(entries, options(2));

    // Each one is a stored frame: its declared content size, a checksum, exactly the documented overhead.
    std::map<std::uint64_t, const Frame*> stored;
    std::vector<Frame> frames = frames_of(payload);
    for (const Frame& f : frames)
        if (f.content_size != ZSTD_CONTENTSIZE_UNKNOWN) stored[f.content_size] = &f;
    REQUIRE(stored.size() == entries.size() - 1);
    for (std::size_t i = 1; i < entries.size(); ++i) {
        const std::string& blob = entries[i].second;
        REQUIRE(stored.count(blob.size()) == 1);
        const Frame& f = *stored[blob.size()];
        CHECK(f.checksum);
        CHECK(f.size == blob.size() + common::bundle::stored_frame_overhead(blob.size()));
        // Raw blocks: the first block's bytes are the entry's, verbatim, after 14 header and 3 block bytes.
        CHECK(payload.compare(f.offset + 17, 4096, blob, 0, 4096) == 0);
    }
    // The whole payload: the data, each entry's bound, and one frame for bundle.json and the end blocks.
    CAPTURE(payload.size() - data);
    CHECK(payload.size() <= bound + 256);
    CHECK(static_cast<double>(payload.size()) <= static_cast<double>(data) * 1.001);
    auto back = read_payload(s, payload);
    REQUIRE(back);
    CHECK(back->first == entries);
}

TEST_CASE("PayloadWriter tells entries apart by their first 128 KiB")
{
    Entries entries = mixed_entries();
    std::string payload = write_payload(entries, options(2));
    // Stored: the gzip layer, the zstd layer, the .deb-like archive. Compressed: bundle.json, the text
    // (an ELF-like compressible blob), the gzip and random entries under 128 KiB.
    std::multiset<std::uint64_t> want{entries[1].second.size(), entries[2].second.size(), entries[3].second.size()};
    CHECK(stored_sizes(payload) == want);
    CHECK(entries[5].second.size() < common::bundle::k_sample_size);
    CHECK(entries[6].second.size() < common::bundle::k_sample_size);
}

TEST_CASE("PayloadWriter compresses compressible entries at --level as the single stream did")
{
    // No entry to store: the bytes are those of one frame over the whole tar, as before.
    Entries entries{{"bundle.json", "{\"format\":1}\n"}};
    for (std::string blob : {text_bytes(2'000'000, 21), random_bytes(100'000, 22), text_bytes(300'000, 23)})
        entries.emplace_back(blob_path(blob), blob);
    std::uint64_t input = 0;
    for (const auto& e : entries) input += e.second.size();
    for (int level : {1, 3, 19}) {
        CAPTURE(level);
        std::string payload = write_payload(entries, options(2, Incompressible::stored, level));
        CHECK(payload == write_payload(entries, options(2, Incompressible::same_stream, level)));
        CHECK(frames_of(payload).size() == 1);
        CHECK(payload.size() * 2 < input);
    }
    CHECK(write_payload(entries, options(2, Incompressible::stored, 1)) != write_payload(entries, options(2, Incompressible::stored, 19)));
}

TEST_CASE("PayloadWriter refuses a source shorter or longer than the entry, in a stored frame too")
{
    std::string blob = random_bytes(300'000, 31);
    for (std::uint64_t declared : {400'000ull, 200'000ull, 299'999ull}) {
        CAPTURE(declared);
        common::io::StringSink sink(1u << 30, "payload");
        auto writer = PayloadWriter::open(sink, options(2));
        REQUIRE(writer);
        common::io::StringSource json("{}");
        REQUIRE(writer->add("bundle.json", 2, json));
        common::io::StringSource src(blob);
        auto r = writer->add(blob_path(blob), declared, src);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == Errc::size_mismatch);
    }
}

TEST_SUITE_END();
