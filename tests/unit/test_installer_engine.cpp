// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include "scratch.hpp"

#include <installer/engine/engine.hpp>
#include <installer/engine/journal.hpp>

#include <fstream>

using installer::engine::Journal;
using installer::engine::select_phases;

TEST_SUITE_BEGIN("foundation");

TEST_CASE("select_phases applies --only, --skip and --from in plan order")
{
    const std::vector<std::string> plan{"preflight", "store", "binaries"};
    CHECK(select_phases(plan, {}).value() == plan);
    CHECK(select_phases(plan, {{"binaries", "preflight"}, {}, ""}).value() == std::vector<std::string>{"preflight", "binaries"});
    CHECK(select_phases(plan, {{}, {"store"}, ""}).value() == std::vector<std::string>{"preflight", "binaries"});
    CHECK(select_phases(plan, {{}, {}, "store"}).value() == std::vector<std::string>{"store", "binaries"});
    auto bad = select_phases(plan, {{"k3s"}, {}, ""});
    REQUIRE(!bad);
    CHECK(bad.error().code == common::Errc::invalid_argument);
    CHECK(bad.error().message.find("k3s") != std::string::npos);
    CHECK(!select_phases(plan, {{}, {}, "nope"}));
}

TEST_CASE("every phase a profile may name is known to the installer")
{
    for (const std::string& name : {"preflight", "store", "binaries"}) CHECK(installer::engine::make_phase(name));
    CHECK(installer::engine::make_phase("k3s").error().code == common::Errc::not_found);
}

TEST_CASE("Journal remembers done and interrupted phases across reopen")
{
    Scratch s;
    {
        auto j = Journal::open(s / "journal.jsonl");
        REQUIRE(j);
        REQUIRE(j->record("b1", "master", "store", "start"));
        REQUIRE(j->record("b1", "master", "store", "done"));
        REQUIRE(j->record("b1", "master", "binaries", "start"));
    }
    auto j = Journal::open(s / "journal.jsonl");
    REQUIRE(j);
    CHECK(j->done("b1", "master", "store"));
    CHECK(!j->done("b1", "master", "binaries"));
    CHECK(!j->done("b2", "master", "store"));
    std::string phase;
    CHECK(j->interrupted("b1", "master", &phase));
    CHECK(phase == "binaries");
}

TEST_CASE("Journal survives a torn last line")
{
    Scratch s;
    {
        auto j = Journal::open(s / "journal.jsonl");
        REQUIRE(j);
        REQUIRE(j->record("b1", "master", "store", "done"));
    }
    std::ofstream(s / "journal.jsonl", std::ios::app) << "{\"bundle\":\"b1\",\"rol";
    {
        auto j = Journal::open(s / "journal.jsonl");
        REQUIRE(j);
        CHECK(j->done("b1", "master", "store"));
        REQUIRE(j->record("b1", "master", "binaries", "done"));
    }
    auto j = Journal::open(s / "journal.jsonl");
    REQUIRE(j);
    CHECK(j->done("b1", "master", "binaries"));
}

TEST_SUITE_END();
