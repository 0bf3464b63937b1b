// SPDX-License-Identifier: Apache-2.0
// Test tool: prints the Packages file common/deb/packages_index makes for the .deb files given, so tests and
// scripts/bench-apt-index can hold it against `apt-ftparchive packages`. Each Filename is PREFIX + the file's
// base name. With --out DIR it writes DIR/Packages, DIR/Packages.gz and DIR/Packages.xz instead.
//   apt_index_tool [--prefix PREFIX] [--out DIR] DEB...
#include <common/deb/packages_index.hpp>
#include <common/io/file.hpp>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

namespace {

common::Result<std::string> stanza_of(const std::string& path, const std::string& prefix)
{
    auto control = common::deb::read_control(path);
    if (!control) return common::fail(control.error());
    auto info = common::deb::deb_file_info(path, prefix + std::filesystem::path(path).filename().string());
    if (!info) return common::fail(info.error());
    return common::deb::packages_stanza(*control, *info);
}

common::Result<void> write_index(const std::filesystem::path& dir, const std::string& packages)
{
    auto gz = common::deb::gzip_bytes(packages);
    if (!gz) return common::fail(gz.error());
    auto xz = common::deb::xz_bytes(packages);
    if (!xz) return common::fail(xz.error());
    TRY_VOID(common::io::make_dirs(dir));
    TRY_VOID(common::io::write_file_atomic(dir / "Packages", packages));
    TRY_VOID(common::io::write_file_atomic(dir / "Packages.gz", *gz));
    return common::io::write_file_atomic(dir / "Packages.xz", *xz);
}

} // namespace

int main(int argc, char** argv)
{
    std::string prefix, out;
    std::vector<std::string> debs;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if ((arg == "--prefix" || arg == "--out") && i + 1 < argc)
            (arg == "--prefix" ? prefix : out) = argv[++i];
        else if (arg.starts_with("--"))
            return std::fprintf(stderr, "usage: apt_index_tool [--prefix PREFIX] [--out DIR] DEB...\n"), 2;
        else
            debs.push_back(arg);
    }
    std::vector<std::string> stanzas;
    for (const std::string& deb : debs) {
        auto stanza = stanza_of(deb, prefix);
        if (!stanza) return std::fprintf(stderr, "apt_index_tool: %s\n", stanza.error().message.c_str()), 1;
        stanzas.push_back(std::move(*stanza));
    }
    std::string packages = common::deb::packages_file(std::move(stanzas));
    if (out.empty()) {
        std::cout << packages;
        return std::cout.flush() ? 0 : 1;
    }
    if (auto ok = write_index(out, packages); !ok) return std::fprintf(stderr, "apt_index_tool: %s\n", ok.error().message.c_str()), 1;
    return 0;
}
