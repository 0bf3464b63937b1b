// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include "scratch.hpp"

#include <installer/engine/journal.hpp>

#include <fstream>

using installer::engine::Journal;

TEST_SUITE_BEGIN("foundation");

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
