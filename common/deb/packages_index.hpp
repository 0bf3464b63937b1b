// SPDX-License-Identifier: Apache-2.0
// apt binary package indexes (Packages, Packages.gz, Packages.xz) made from .deb files, as
// `apt-ftparchive packages` (apt 2.6 to 3.0, default options) writes them.
//
//   .deb      = ar archive: debian-binary, control.tar[.gz|.xz|.zst], data.tar[.*]; control.tar holds ./control
//   Packages  = stanza ("\n" stanza)*          each stanza ends with "\n" and is followed by one blank line
//   stanza    = the .deb's control fields, then Filename, Size, MD5sum, SHA1, SHA256, SHA512, placed in apt's
//               field order (apt-pkg/tagfile-order.c, TFRewritePackageOrder); fields apt does not list keep
//               their control order after the listed ones; Status is dropped.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <common/util/error.hpp>

namespace common::deb {

// The largest ./control read into memory: apt's own limit (DEB_CONTROL_SIZE_LIMIT).
constexpr std::uint64_t k_max_control_bytes = 64u << 20;

// The ./control file of a .deb, as its bytes. Errors name the file: invalid_argument for a file that is not a
// .deb (not an ar archive, no debian-binary, control.tar or data.tar member, no ./control in control.tar),
// corrupt for a member that does not decompress or a control over k_max_control_bytes, not_found/io to open.
Result<std::string> read_control(const std::filesystem::path& deb);

// What a Packages stanza says about the file itself. Hashes in lowercase hex; an empty hash is not written
// (apt-ftparchive with that hash switched off).
struct DebFileInfo {
    std::string filename; // the Filename: field, e.g. "pool/jq_1.6-2.1_amd64.deb"
    std::uint64_t size = 0;
    std::string md5, sha1, sha256, sha512;
};

// Size and the four hashes of a .deb, read once; filename is copied into the result. Errors name the file.
Result<DebFileInfo> deb_file_info(const std::filesystem::path& deb, std::string filename);

// One Packages stanza for a .deb with this control text, byte for byte as apt-ftparchive writes it: fields in
// TFRewritePackageOrder with apt's spelling of their names, the others after them in control order with
// theirs; values as the control has them (its whitespace after the colon and its continuation lines kept,
// trailing whitespace dropped), Priority and Section trimmed; Filename, Size and the hashes from `file`;
// Status dropped; Description whole (no Description-md5). Ends with "\n", no blank line.
// invalid_argument for a control apt and dpkg would not accept: no Package, more than one paragraph, a
// field twice, a comment line, a malformed line (the message names the line); and for a bad DebFileInfo
// (empty filename, a newline in it, a hash of the wrong length or not hex).
Result<std::string> packages_stanza(std::string_view control, const DebFileInfo& file);

// A whole Packages file: stanzas sorted by Package (bytes), then Version (dpkg order, common/deb/version),
// then Filename, then the whole text; each followed by one blank line, as apt-ftparchive writes them. An
// empty list gives an empty file.
std::string packages_file(std::vector<std::string> stanzas);

// gzip of data that is the same bytes for the same input on every run and machine (with the same zlib):
// no file name, mtime 0, OS byte 3 (Unix), level 9. io for a zlib failure.
Result<std::string> gzip_bytes(std::string_view data);
// xz of data, the same bytes for the same input on every run (with the same liblzma): one single-threaded
// stream, preset 6, CRC64 check (xz's and apt's default). io for a liblzma failure.
Result<std::string> xz_bytes(std::string_view data);

} // namespace common::deb
