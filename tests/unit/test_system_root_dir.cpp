// SPDX-License-Identifier: Apache-2.0
// --root confinement: node paths resolve inside the root whatever links the root holds, with openat2
// (RESOLVE_IN_ROOT) and with the checked walk used where the kernel lacks it.
#include <doctest/doctest.h>

#include "scratch.hpp"

#include <installer/system/root_dir.hpp>

#include <fstream>

using installer::system::Create;
using installer::system::Resolution;
using installer::system::RootDir;
namespace fs = std::filesystem;

TEST_SUITE_BEGIN("seam");

namespace {

// A root whose links point out of it as a careless image would: var/run -> /run (absolute),
// usr/local/bin -> ../../../tmp/x (more ".." than it is deep), etc -> a loop pair, opt a file.
fs::path hostile_root(const Scratch& s)
{
    fs::path r = s / "root";
    fs::create_directories(r / "var");
    fs::create_directories(r / "usr/local");
    fs::create_directory_symlink("/run", r / "var/run");
    fs::create_directory_symlink("../../../tmp/x", r / "usr/local/bin");
    fs::create_directory_symlink("b", r / "a");
    fs::create_directory_symlink("a", r / "b");
    std::ofstream(r / "opt") << "a file, not a folder";
    return r;
}

} // namespace

TEST_CASE("RootDir resolves links inside the root - with openat2 and with the checked walk")
{
    for (Resolution mode : {Resolution::automatic, Resolution::walk}) {
        CAPTURE(static_cast<int>(mode));
        Scratch s;
        fs::path r = hostile_root(s);
        auto root = RootDir::open(r, mode);
        REQUIRE(root);

        // Missing: not_found without creating anything.
        auto missing = root->open_dir("/usr/local/bin", Create::no);
        REQUIRE(!missing);
        CHECK(missing.error().code == common::Errc::not_found);
        CHECK(!fs::exists(r / "tmp"));

        // Created through the link, inside the root: <root>/tmp/x, and each created folder reported first.
        std::vector<std::string> created;
        auto bin = root->open_dir("/usr/local/bin", Create::yes, [&](const std::string& p) -> common::Result<void> {
            created.push_back(p);
            return {};
        });
        REQUIRE(bin);
        CHECK(bin->node_path == "/tmp/x");
        CHECK(created == std::vector<std::string>{"/tmp", "/tmp/x"});
        CHECK(fs::is_directory(r / "tmp/x"));
        CHECK(root->host_dir("/usr/local/bin", Create::no).value() == r / "tmp/x");

        // An absolute link resolves from the root, not from the host's "/".
        auto run = root->open_dir("/var/run/platform-installer-test", Create::yes);
        REQUIRE(run);
        CHECK(run->node_path == "/run/platform-installer-test");
        CHECK(fs::is_directory(r / "run/platform-installer-test"));
        CHECK(!fs::exists("/run/platform-installer-test"));

        // ".." never climbs out of the root.
        CHECK(root->open_dir("/../../..", Create::no).value().node_path == "/");
        CHECK(root->open_dir("/tmp/../../../tmp/x", Create::no).value().node_path == "/tmp/x");

        // A loop and a file on the way are refused, naming the path.
        auto loop = root->open_dir("/a/c", Create::yes);
        REQUIRE(!loop);
        CHECK(loop.error().message.find("/a") != std::string::npos);
        auto file = root->open_dir("/opt/x", Create::yes);
        REQUIRE(!file);
        CHECK(file.error().code == common::Errc::failed_precondition);

        // The parent of a path: its folder resolved, its last component kept as written.
        auto parent = root->open_parent("/usr/local/bin/k3s", Create::no);
        REQUIRE(parent);
        CHECK(parent->node_path() == "/tmp/x/k3s");
        CHECK(!root->open_parent("/usr/..", Create::no));
        CHECK(root->open_parent("relative/path", Create::no).error().code == common::Errc::invalid_argument);
    }
}

TEST_CASE("RootDir::open_file follows links inside the root only")
{
    for (Resolution mode : {Resolution::automatic, Resolution::walk}) {
        CAPTURE(static_cast<int>(mode));
        Scratch s;
        fs::path r = s / "root";
        s.write("root/usr/lib/os-release", "ID=debian\n");
        s.write("outside-secret", "host file\n");
        fs::create_directories(r / "etc");
        fs::create_symlink("../usr/lib/os-release", r / "etc/os-release");
        // An absolute link to a host file: inside the root it names <root>/<that path>, which is missing.
        fs::create_symlink((s / "outside-secret").string(), r / "etc/secret");
        auto root = RootDir::open(r, mode);
        REQUIRE(root);
        auto f = root->open_file("/etc/os-release");
        REQUIRE(f);
        char buf[64] = {};
        REQUIRE(f->read(std::as_writable_bytes(std::span(buf))));
        CHECK(std::string(buf) == "ID=debian\n");
        auto secret = root->open_file("/etc/secret");
        REQUIRE(!secret);
        CHECK(secret.error().code == common::Errc::not_found);
    }
}

TEST_CASE("RootDir on the host's / resolves as the host does")
{
    auto root = RootDir::open("/");
    REQUIRE(root);
    CHECK(root->is_host());
    CHECK(root->open_dir("/proc/self", Create::no));
    CHECK(root->host_dir("/etc", Create::no).value() == "/etc");
}

TEST_SUITE_END();
