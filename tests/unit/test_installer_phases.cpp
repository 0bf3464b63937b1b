// SPDX-License-Identifier: Apache-2.0
// The phase table, read by the manifests, the engine and these tests; --only/--skip/--from never drop a gate.
#include <doctest/doctest.h>

#include <common/bundle/phase_table.hpp>
#include <installer/engine/engine.hpp>

#include <set>

using common::bundle::phase_table;
using common::bundle::PhaseLevel;
using installer::engine::kept_gates;
using installer::engine::select_phases;

TEST_SUITE_BEGIN("seam");

TEST_CASE("every row of the phase table is built by the engine from that row - and nothing else is")
{
    std::set<std::string_view> names;
    for (const common::bundle::PhaseInfo& row : phase_table()) {
        CAPTURE(row.name);
        CHECK(names.insert(row.name).second);
        auto phase = installer::engine::make_phase(row.name);
        REQUIRE(phase);
        CHECK(&(*phase)->info() == &row);
        CHECK((*phase)->is_gate() == (row.level == PhaseLevel::gate));
        CHECK(!row.summary.empty());
    }
    CHECK(installer::engine::make_phase("k3s-someday").error().code == common::Errc::not_found);
}

TEST_CASE("phase_order follows the table")
{
    const auto& table = phase_table();
    for (std::size_t i = 0; i < table.size(); ++i) CHECK(common::bundle::phase_order(table[i].name) == i);
}

TEST_CASE("select_phases applies --only - --skip and --from in plan order and always keeps the gates")
{
    std::vector<std::string> plan;
    for (const auto& row : phase_table()) plan.emplace_back(row.name);
    std::vector<std::string> gates;
    for (const auto& row : phase_table())
        if (row.level == PhaseLevel::gate) gates.emplace_back(row.name);
    REQUIRE(!gates.empty());
    REQUIRE(plan.size() >= 3);
    const std::string& last = plan.back();
    const std::string& middle = plan[plan.size() - 2];

    CHECK(select_phases(plan, {}).value() == plan);
    // --only without the gate, --skip of the gate, --from past the gate: the gate still runs.
    std::vector<std::string> only_last = gates;
    only_last.push_back(last);
    CHECK(select_phases(plan, {{last}, {}, ""}).value() == only_last);
    CHECK(select_phases(plan, {{}, gates, ""}).value() == plan);
    CHECK(select_phases(plan, {{}, {}, middle}).value() == std::vector<std::string>{gates[0], middle, last});
    CHECK(kept_gates(plan, {{last}, {}, ""}) == gates);
    CHECK(kept_gates(plan, {{}, gates, ""}) == gates);
    CHECK(kept_gates(plan, {}).empty());
    // --skip of a non-gate phase drops it.
    auto skipped = select_phases(plan, {{}, {middle}, ""}).value();
    CHECK(std::find(skipped.begin(), skipped.end(), middle) == skipped.end());

    auto bad = select_phases(plan, {{"kubeflow"}, {}, ""});
    REQUIRE(!bad);
    CHECK(bad.error().code == common::Errc::invalid_argument);
    CHECK(bad.error().message.find("kubeflow") != std::string::npos);
    CHECK(!select_phases(plan, {{}, {}, "nope"}));
}

TEST_SUITE_END();
