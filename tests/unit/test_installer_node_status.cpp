// SPDX-License-Identifier: Apache-2.0
// --status and --purge below the command line: the journal read back (statuses, durations), a node's
// status read from a crafted root without changing it, and the state purge (refused while a change is
// not undone, confined to the installer's entries when the state folder is reached through a link).
#include <doctest/doctest.h>

#include "scratch.hpp"
#include "tree.hpp"

#include <installer/engine/journal_history.hpp>
#include <installer/engine/node_status.hpp>
#include <installer/node/state_purge.hpp>

#include <common/bundle/phase_table.hpp>

#include <fstream>
#include <sstream>
#include <unistd.h>

using installer::engine::JournalHistory;
namespace fs = std::filesystem;

TEST_SUITE_BEGIN("cluster");

namespace {

std::string event(const std::string& bundle, const std::string& phase, const std::string& ev, long time)
{
    return fmt::format(R"({{"bundle":"{}","role":"master","phase":"{}","event":"{}","time":{}}})", bundle, phase, ev, time) + "\n";
}

// "<pid> <start time>" as a plain service's pid file holds it, for this (running) process.
std::string own_pid_file()
{
    std::ifstream in("/proc/self/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::string field, start;
    for (int i = 3; i <= 22 && fields >> field; ++i)
        if (i == 22) start = field;
    return fmt::format("{} {}\n", ::getpid(), start);
}

} // namespace

TEST_CASE("JournalHistory gives each phase's last event and its duration")
{
    std::string text = event("b1", "store", "start", 100) + event("b1", "store", "done", 107) +   // ran: 7 s
                       event("b1", "binaries", "done", 110) +                                       // found in place
                       event("b1", "registry", "start", 120) + event("b1", "registry", "failed", 125) +
                       event("b1", "images", "start", 130) + event("b1", "images", "done", 131) +
                       event("b1", "images", "undone", 140) + event("b2", "k3s", "start", 150) +
                       R"({"bundle":"b3","ro)"; // torn: never completed
    JournalHistory h = JournalHistory::parse(text);
    REQUIRE(!h.empty());
    CHECK(h.last_bundle() == "b2");
    CHECK(h.last_role() == "master");

    auto store = h.phase("b1", "master", "store");
    CHECK(store.event == "done");
    CHECK(store.seconds() == 7);
    auto binaries = h.phase("b1", "master", "binaries");
    CHECK(binaries.event == "done");
    CHECK(binaries.time == 110);
    CHECK(!binaries.seconds());
    CHECK(h.phase("b1", "master", "registry").event == "failed");
    CHECK(h.phase("b1", "master", "registry").seconds() == 5);
    auto images = h.phase("b1", "master", "images");
    CHECK(images.event == "undone");
    CHECK(!images.seconds());
    CHECK(h.phase("b1", "master", "k3s").event.empty());
    CHECK(!h.unfinished("b1", "master"));
    CHECK(h.unfinished("b2", "master") == "k3s");
    CHECK(JournalHistory::parse("").empty());
}

TEST_CASE("read_node_status reads a crafted node and changes nothing")
{
    Scratch s;
    fs::path root = s / "root", state = root / "var/lib/platform-installer";
    SUBCASE("nothing installed")
    {
        fs::create_directories(root);
        auto dir = installer::system::RootDir::open(root);
        REQUIRE(dir);
        auto st = installer::engine::read_node_status(*dir, {});
        REQUIRE(st);
        CHECK(st->state == "not installed");
        CHECK(installer::engine::render_text(*st) == fmt::format("not installed under {}\n", root.string()));
        CHECK(fs::is_empty(root));
    }
    SUBCASE("an install interrupted in a phase")
    {
        s.write("root/var/lib/platform-installer/journal.jsonl",
                event("sha256:b1", "store", "start", 100) + event("sha256:b1", "store", "done", 103) +
                    event("sha256:b1", "binaries", "start", 104));
        // A service started and still running (this process), one started then undone, one started and down;
        // jq came with the install, socat too but is gone.
        s.write("root/var/lib/platform-installer/changes.jsonl",
                R"({"seq":1,"phase":"registry","op":"start","path":"svc-up","time":1})" "\n"
                R"({"seq":2,"phase":"registry","op":"start","path":"svc-undone","time":1})" "\n"
                R"({"seq":3,"phase":"ha","op":"start","path":"svc-down","time":1})" "\n"
                R"({"seq":4,"phase":"apt","op":"packages","path":"jq socat","time":1})" "\n"
                R"({"undone":2})" "\n");
        s.write("root/var/lib/platform-installer/services/svc-up.pid", own_pid_file());
        s.write("root/var/lib/dpkg/status", "Package: jq\nStatus: install ok installed\nVersion: 1.6-2.1\nDescription: x\n y\n\n"
                                            "Package: socat\nStatus: deinstall ok config-files\nVersion: 1.7\n");
        s.write("root/var/lib/platform-installer/store/blobs/sha256/aa", "12345");
        s.write("root/var/lib/platform-installer/store/blobs/sha256/bb", "123");
        fs::create_symlink("/etc/passwd", state / "store/blobs/sha256/cc"); // not a blob: never followed
        std::string before = tree_snapshot(root);

        auto dir = installer::system::RootDir::open(root);
        REQUIRE(dir);
        auto st = installer::engine::read_node_status(*dir, {});
        REQUIRE(st);
        CHECK(st->state == "interrupted");
        CHECK(st->interrupted == "binaries");
        CHECK(!st->running);
        CHECK(st->bundle_id == "sha256:b1");
        CHECK(st->profile.empty()); // no index at hand
        CHECK(st->role == "master");
        REQUIRE(st->phases.size() == common::bundle::phase_table().size());
        CHECK(st->phases[1].name == "store");
        CHECK(st->phases[1].status == "done");
        CHECK(st->phases[1].finished == 103);
        CHECK(st->phases[1].seconds == 3);
        CHECK(st->phases[2].status == "interrupted");
        CHECK(st->phases[2].started == 104);
        CHECK(!st->phases[2].finished);
        CHECK(!st->phases[0].in_plan); // without the index, the plan is what the journal has
        REQUIRE(st->services.size() == 2);
        CHECK(st->services[0].name == "svc-up");
        CHECK(st->services[0].active);
        CHECK(st->services[1].name == "svc-down");
        CHECK(!st->services[1].active);
        REQUIRE(st->packages.size() == 2);
        CHECK(st->packages[0].version == "1.6-2.1");
        CHECK(st->packages[1].version.empty());
        CHECK(st->store_blobs == 2);
        CHECK(st->store_bytes == 8);
        nlohmann::json j = installer::engine::to_json(*st);
        CHECK(j["interrupted_phase"] == "binaries");
        CHECK(j["bundle"]["profile"].is_null());
        CHECK(j["store"]["bytes"] == 8);
        CHECK(tree_snapshot(root) == before);
    }
}

TEST_CASE("purge_state removes the state and the log once every change is undone")
{
    Scratch s;
    fs::path root = s / "root";
    s.write("root/var/lib/platform-installer/changes.jsonl", R"({"seq":1,"phase":"binaries","op":"create","path":"/x","time":1})" "\n");
    s.write("root/var/lib/platform-installer/store/blobs/sha256/aa", "12345");
    s.write("root/var/log/platform-installer.log", "log\n");
    s.write("root/var/log/other.log", "kept\n");
    s.write("outside/keep", "outside the root\n");
    fs::create_symlink(s / "outside", root / "var/lib/platform-installer/store/link-out");
    auto dir = installer::system::RootDir::open(root);
    REQUIRE(dir);

    // A change not undone: --reset still needs the change log and the backups.
    auto refused = installer::node::purge_state(*dir);
    REQUIRE(!refused);
    CHECK(refused.error().code == common::Errc::failed_precondition);
    CHECK(fs::exists(root / "var/lib/platform-installer/store/blobs/sha256/aa"));

    s.write("root/var/lib/platform-installer/changes.jsonl",
            R"({"seq":1,"phase":"binaries","op":"create","path":"/x","time":1})" "\n" R"({"undone":1})" "\n");
    auto report = installer::node::purge_state(*dir);
    REQUIRE(report);
    CHECK(report->removed.size() == 2);
    CHECK(!fs::exists(fs::symlink_status(root / "var/lib/platform-installer")));
    CHECK(!fs::exists(root / "var/log/platform-installer.log"));
    CHECK(fs::exists(root / "var/log/other.log"));
    CHECK(fs::exists(s / "outside/keep")); // the link was removed, not followed
    CHECK(fs::is_directory(root / "var/lib"));
}

TEST_CASE("purge_state through a link removes only the installer's entries, and never the root")
{
    Scratch s;
    fs::path root = s / "root";
    fs::create_directories(root / "var/lib");
    SUBCASE("a link to another folder of the root")
    {
        s.write("root/data/pi/journal.jsonl", "");
        s.write("root/data/pi/store/blobs/sha256/aa", "1");
        s.write("root/data/pi/operator-notes", "mine\n");
        fs::create_symlink("/data/pi", root / "var/lib/platform-installer");
        auto dir = installer::system::RootDir::open(root);
        REQUIRE(dir);
        auto report = installer::node::purge_state(*dir);
        REQUIRE(report);
        CHECK(!fs::exists(root / "data/pi/store"));
        CHECK(!fs::exists(root / "data/pi/journal.jsonl"));
        CHECK(fs::exists(root / "data/pi/operator-notes"));
        CHECK(fs::is_symlink(root / "var/lib/platform-installer"));
        CHECK(report->kept.size() == 2);
    }
    SUBCASE("a link to the root itself")
    {
        s.write("root/etc/hostname", "node\n");
        fs::create_symlink("/", root / "var/lib/platform-installer");
        auto dir = installer::system::RootDir::open(root);
        REQUIRE(dir);
        std::string before = tree_snapshot(root);
        auto report = installer::node::purge_state(*dir);
        REQUIRE(!report);
        CHECK(report.error().code == common::Errc::failed_precondition);
        CHECK(tree_snapshot(root) == before);
    }
}

TEST_SUITE_END();
