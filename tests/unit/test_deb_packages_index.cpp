// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include "scratch.hpp"

#include <common/deb/control.hpp>
#include <common/deb/packages_index.hpp>
#include <common/util/process.hpp>

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

using common::Errc;
using common::deb::DebFileInfo;
namespace fs = std::filesystem;

TEST_SUITE_BEGIN("apt");

namespace {

// The real .debs scripts/setup downloads (PI_FIXTURE_DEBS overrides the folder).
fs::path fixture_debs()
{
    const char* env = std::getenv("PI_FIXTURE_DEBS");
    return env ? fs::path(env) : fs::path(PI_SOURCE_DIR) / "build" / "fixtures" / "debs";
}

la_ssize_t append_to_string(archive*, void* out, const void* data, std::size_t size)
{
    static_cast<std::string*>(out)->append(static_cast<const char*>(data), size);
    return static_cast<la_ssize_t>(size);
}

// An archive in memory: ar (format "ar") of plain members, or a tar through `filter` ("gzip", "xz", "zstd",
// "none"), with the given (name, content) members.
std::string archive_of(const std::string& format, const std::string& filter, const std::vector<std::pair<std::string, std::string>>& members)
{
    std::string out;
    archive* a = archive_write_new();
    if (format == "ar") archive_write_set_format_ar_svr4(a);
    else archive_write_set_format_ustar(a);
    if (filter != "none") REQUIRE(archive_write_add_filter_by_name(a, filter.c_str()) == ARCHIVE_OK);
    archive_write_set_bytes_in_last_block(a, 1);
    REQUIRE(archive_write_open(a, &out, nullptr, append_to_string, nullptr) == ARCHIVE_OK);
    for (const auto& [name, content] : members) {
        archive_entry* e = archive_entry_new();
        archive_entry_set_pathname(e, name.c_str());
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, static_cast<la_int64_t>(content.size()));
        REQUIRE(archive_write_header(a, e) == ARCHIVE_OK);
        REQUIRE(archive_write_data(a, content.data(), content.size()) == static_cast<la_ssize_t>(content.size()));
        archive_entry_free(e);
    }
    REQUIRE(archive_write_close(a) == ARCHIVE_OK);
    archive_write_free(a);
    return out;
}

// A .deb as dpkg-deb lays it out, its control.tar compressed with `filter`.
std::string deb_of(const std::string& control, const std::string& filter, const std::string& control_name = "./control")
{
    std::string ext = filter == "none" ? "" : filter == "gzip" ? ".gz" : filter == "xz" ? ".xz" : ".zst";
    std::string control_tar = archive_of("tar", filter, {{"./md5sums", "d41d8cd98f00b204e9800998ecf8427e  usr/x\n"}, {control_name, control}});
    std::string data_tar = archive_of("tar", "xz", {{"./usr/x", ""}});
    return archive_of("ar", "none", {{"debian-binary", "2.0\n"}, {"control.tar" + ext, control_tar}, {"data.tar.xz", data_tar}});
}

const std::string k_control = "Package: hello\nVersion: 1.0-1\nArchitecture: amd64\nMaintainer: A <a@example.org>\n"
                              "Installed-Size: 12\nSection: misc\nPriority: optional\nDescription: says hello\n long text\n .\n more\n";

DebFileInfo info_for(std::string filename)
{
    return {std::move(filename), 1234, std::string(32, 'a'), std::string(40, 'b'), std::string(64, 'c'), std::string(128, 'd')};
}

std::string hashes_block(const DebFileInfo& f)
{
    return "Size: " + std::to_string(f.size) + "\nMD5sum: " + f.md5 + "\nSHA1: " + f.sha1 + "\nSHA256: " + f.sha256 + "\nSHA512: " + f.sha512 + "\n";
}

std::string field(const std::string& paragraph, const std::string& name)
{
    std::string value;
    REQUIRE(common::deb::for_each_paragraph(paragraph, [&](const common::deb::Paragraph& p) -> common::Result<void> {
        value = std::string(p.get(name));
        return {};
    }));
    return value;
}

} // namespace

TEST_CASE("read_control reads ./control of every fixture .deb")
{
    fs::path dir = fixture_debs();
    std::vector<fs::path> debs;
    if (fs::is_directory(dir))
        for (const auto& e : fs::directory_iterator(dir))
            if (e.path().extension() == ".deb") debs.push_back(e.path());
    INFO("fixture folder: ", dir.string());
    REQUIRE_MESSAGE(!debs.empty(), "no fixture .debs: run scripts/setup");
    for (const fs::path& deb : debs) {
        CAPTURE(deb.string());
        auto control = common::deb::read_control(deb);
        REQUIRE(control);
        std::string name = deb.filename().string();
        CHECK(field(*control, "Package") == name.substr(0, name.find('_')));
        CHECK(name.ends_with("_" + field(*control, "Architecture") + ".deb"));
        CHECK(!field(*control, "Description").empty());
        auto stanza = common::deb::packages_stanza(*control, info_for("pool/" + name));
        REQUIRE(stanza);
        CHECK(stanza->starts_with("Package: " + name.substr(0, name.find('_')) + "\n"));
    }
}

TEST_CASE("read_control reads control.tar compressed each way apt accepts")
{
    Scratch s;
    for (const char* filter : {"gzip", "xz", "zstd", "none"}) {
        for (const char* member : {"./control", "control"}) {
            CAPTURE(filter);
            CAPTURE(member);
            fs::path deb = s.write(std::string("hello-") + filter + ".deb", deb_of(k_control, filter, member));
            auto control = common::deb::read_control(deb);
            REQUIRE(control);
            CHECK(*control == k_control);
        }
    }
}

TEST_CASE("read_control refuses a file that is not a .deb and names the file")
{
    Scratch s;
    std::string control_tar = archive_of("tar", "gzip", {{"./control", k_control}});
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"text.deb", "Package: hello\n"},
        {"empty.deb", ""},
        {"tar.deb", control_tar},
        {"no-control.deb", archive_of("ar", "none", {{"debian-binary", "2.0\n"}, {"data.tar.xz", "x"}})},
        {"no-binary.deb", archive_of("ar", "none", {{"control.tar.gz", control_tar}, {"data.tar.xz", "x"}})},
        {"no-data.deb", archive_of("ar", "none", {{"debian-binary", "2.0\n"}, {"control.tar.gz", control_tar}})},
        {"no-control-file.deb", archive_of("ar", "none", {{"debian-binary", "2.0\n"},
                                                          {"control.tar.gz", archive_of("tar", "gzip", {{"./md5sums", ""}})},
                                                          {"data.tar.xz", "x"}})},
    };
    for (const auto& [name, content] : cases) {
        CAPTURE(name);
        fs::path file = s.write(name, content);
        auto r = common::deb::read_control(file);
        REQUIRE(!r);
        CHECK(r.error().code == Errc::invalid_argument);
        CHECK(r.error().message.starts_with("read control of " + file.string() + ": not a .deb"));
    }
    auto missing = common::deb::read_control(s / "missing.deb");
    REQUIRE(!missing);
    CHECK(missing.error().code == Errc::not_found);
    CHECK(missing.error().message.find((s / "missing.deb").string()) != std::string::npos);
}

TEST_CASE("read_control refuses a damaged control.tar as corrupt")
{
    Scratch s;
    std::string control_tar = archive_of("tar", "xz", {{"./control", k_control}});
    control_tar.resize(control_tar.size() / 2);
    fs::path deb = s.write("cut.deb", archive_of("ar", "none", {{"debian-binary", "2.0\n"}, {"control.tar.xz", control_tar}, {"data.tar.xz", "x"}}));
    auto r = common::deb::read_control(deb);
    REQUIRE(!r);
    CHECK(r.error().code == Errc::corrupt);
    CHECK(r.error().message.starts_with("read control of " + deb.string() + ": control.tar.xz"));
}

TEST_CASE("deb_file_info gives the size and the four hashes of the file")
{
    Scratch s;
    fs::path f = s.write("abc.deb", "abc");
    auto info = common::deb::deb_file_info(f, "pool/abc.deb");
    REQUIRE(info);
    CHECK(info->filename == "pool/abc.deb");
    CHECK(info->size == 3);
    CHECK(info->md5 == "900150983cd24fb0d6963f7d28e17f72");
    CHECK(info->sha1 == "a9993e364706816aba3e25717850c26c9cd0d89d");
    CHECK(info->sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(info->sha512 == "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd"
                          "454d4423643ce80e2a9ac94fa54ca49f");
    CHECK(common::deb::deb_file_info(s / "missing.deb", "x").error().code == Errc::not_found);
}

TEST_CASE("packages_stanza orders fields as apt-ftparchive does")
{
    DebFileInfo f = info_for("pool/hello_1.0-1_amd64.deb");
    SUBCASE("a plain control")
    {
        auto stanza = common::deb::packages_stanza(k_control, f);
        REQUIRE(stanza);
        CHECK(*stanza == "Package: hello\nArchitecture: amd64\nVersion: 1.0-1\nPriority: optional\nSection: misc\n"
                         "Maintainer: A <a@example.org>\nInstalled-Size: 12\nFilename: pool/hello_1.0-1_amd64.deb\n" +
                             hashes_block(f) + "Description: says hello\n long text\n .\n more\n");
    }
    SUBCASE("names in apt's spelling, unlisted fields after the listed ones in control order, Status dropped")
    {
        const std::string control = "description: d\nX-Custom: 1\npackage: p\nStatus: install ok installed\nmd5SUM: 0\n"
                                    "Ruby-Versions: all\nsize: 1\nHOMEPAGE: https://h\n";
        auto stanza = common::deb::packages_stanza(control, f);
        REQUIRE(stanza);
        CHECK(*stanza == "Package: p\nFilename: pool/hello_1.0-1_amd64.deb\n" + hashes_block(f) +
                             "Homepage: https://h\nDescription: d\nX-Custom: 1\nRuby-Versions: all\n");
    }
    SUBCASE("raw values kept, Priority and Section trimmed, blanks before a colon dropped")
    {
        const std::string control = "Package:   spaced  \nVersion:1\nPriority:\toptional \nSection:  \n"
                                    "Depends :  a,\n  b  \nDescription:\n x \n";
        auto stanza = common::deb::packages_stanza(control, f);
        REQUIRE(stanza);
        CHECK(*stanza == "Package:   spaced\nVersion: 1\nPriority: optional\nDepends:  a,\n  b\nFilename: pool/hello_1.0-1_amd64.deb\n" +
                             hashes_block(f) + "Description:\n x\n");
    }
    SUBCASE("an empty hash is not written")
    {
        f.md5.clear();
        f.sha1.clear();
        auto stanza = common::deb::packages_stanza("Package: p\n", f);
        REQUIRE(stanza);
        CHECK(*stanza == "Package: p\nFilename: pool/hello_1.0-1_amd64.deb\nSize: 1234\nSHA256: " + f.sha256 + "\nSHA512: " + f.sha512 + "\n");
    }
}

TEST_CASE("packages_stanza refuses a control apt and dpkg would not take and a bad DebFileInfo")
{
    DebFileInfo good = info_for("pool/x.deb");
    const std::vector<std::pair<std::string, std::string>> controls = {
        {"", "no fields"},
        {"Version: 1\n", "no Package field"},
        {"Package:\nVersion: 1\n", "no Package field"},
        {"Package: a\n\nPackage: b\n", "line 3: a second paragraph"},
        {"Package: a\npackage: b\n", "field package appears twice"},
        {"Package: a\n# note\n", "line 2: a comment line"},
        {"Package: a\nno colon here\n", "line 2: expected 'Field: value'"},
    };
    for (const auto& [control, want] : controls) {
        CAPTURE(control);
        auto r = common::deb::packages_stanza(control, good);
        REQUIRE(!r);
        CHECK(r.error().code == Errc::invalid_argument);
        CHECK(r.error().message.starts_with("packages stanza for pool/x.deb: "));
        CHECK(r.error().message.find(want) != std::string::npos);
    }
    DebFileInfo bad = good;
    bad.sha256 = "ABC";
    CHECK(common::deb::packages_stanza("Package: a\n", bad).error().code == Errc::invalid_argument);
    bad = good;
    bad.filename = "pool/a\nSize: 1";
    CHECK(common::deb::packages_stanza("Package: a\n", bad).error().code == Errc::invalid_argument);
    bad.filename = "";
    CHECK(common::deb::packages_stanza("Package: a\n", bad).error().code == Errc::invalid_argument);
}

TEST_CASE("packages_file sorts by Package then dpkg version order then Filename with a blank line after each stanza")
{
    auto st = [](const std::string& p, const std::string& v, const std::string& f) {
        return "Package: " + p + "\nVersion: " + v + "\nFilename: " + f + "\n";
    };
    std::vector<std::string> in = {st("b", "1.10", "pool/b2"), st("b", "1.9", "pool/b1"), st("a", "1:0.1", "pool/a3"),
                                   st("a", "2.0", "pool/a2"), st("a", "2.0~rc1", "pool/a1"), st("b", "1.9", "pool/b0")};
    std::string want = st("a", "2.0~rc1", "pool/a1") + "\n" + st("a", "2.0", "pool/a2") + "\n" + st("a", "1:0.1", "pool/a3") + "\n" +
                       st("b", "1.9", "pool/b0") + "\n" + st("b", "1.9", "pool/b1") + "\n" + st("b", "1.10", "pool/b2") + "\n";
    CHECK(common::deb::packages_file(in) == want);
    std::reverse(in.begin(), in.end());
    CHECK(common::deb::packages_file(in) == want);
    CHECK(common::deb::packages_file({}).empty());
}

TEST_CASE("gzip_bytes and xz_bytes give the same bytes every time and gzip -dc and xz -dc give the input back")
{
    Scratch s;
    std::string data;
    for (int i = 0; i < 3000; ++i) data += "Package: p" + std::to_string(i * 7919 % 3001) + "\nVersion: 1." + std::to_string(i) + "\n\n";
    for (std::string input : {data, std::string()}) {
        CAPTURE(input.size());
        auto gz = common::deb::gzip_bytes(input);
        auto xz = common::deb::xz_bytes(input);
        REQUIRE(gz);
        REQUIRE(xz);
        CHECK(*gz == *common::deb::gzip_bytes(input));
        CHECK(*xz == *common::deb::xz_bytes(input));
        // gzip header: magic, deflate, no flags (no name), mtime 0, XFL 2 (level 9), OS 3 (Unix).
        CHECK(gz->substr(0, 10) == std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03", 10));
        // xz stream header: magic, then stream flags 0x00 0x04 (CRC64).
        CHECK(xz->substr(0, 8) == std::string("\xfd" "7zXZ\x00\x00\x04", 8));
        for (const auto& [tool, bytes] : {std::pair<std::string, std::string>{"gzip", *gz}, {"xz", *xz}}) {
            fs::path f = s.write("Packages." + tool, bytes);
            auto out = common::run_process({tool, "-dc", f.string()});
            REQUIRE(out);
            CHECK(out->exit_code == 0);
            CHECK(out->output == input);
        }
    }
}

TEST_SUITE_END();
