// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <installer/phases/preflight.hpp>

using installer::phases::CheckResult;
using installer::phases::evaluate_preflight;

TEST_SUITE_BEGIN("foundation");

namespace {

installer::system::Facts good_node()
{
    installer::system::Facts f;
    f.euid = 0;
    f.os_id = "ubuntu";
    f.os_version_id = "22.04";
    f.arch = "amd64";
    f.cpus = 2;
    f.memory_bytes = 3900ull << 20; // a "4 GB" VM: MemTotal below 4 GiB
    f.data_dir_free_bytes = 20ull << 30;
    return f;
}

const std::vector<common::bundle::Platform> k_platforms{{"ubuntu", "22.04", "amd64"}, {"debian", "12", "amd64"}};

const CheckResult& find(const std::vector<CheckResult>& rs, const std::string& id)
{
    for (const auto& r : rs)
        if (r.id == id) return r;
    FAIL("no check " << id);
    return rs.front();
}

std::vector<std::string> failed(const std::vector<CheckResult>& rs)
{
    std::vector<std::string> out;
    for (const auto& r : rs)
        if (!r.ok && !r.skipped) out.push_back(r.id);
    return out;
}

} // namespace

TEST_CASE("preflight passes a node at the seed's minima (2 CPU - 4 GB - 10 GB)")
{
    auto rs = evaluate_preflight(good_node(), common::bundle::RolePlan{}, k_platforms, 1ull << 30, {});
    CHECK(failed(rs).empty());
    CHECK(rs.size() == installer::phases::node_check_ids().size());
}

TEST_CASE("preflight fails each check below its threshold - with what to do")
{
    common::bundle::RolePlan plan;
    struct Case {
        std::string id;
        void (*spoil)(installer::system::Facts&);
    };
    std::vector<Case> cases{
        {"root", [](installer::system::Facts& f) { f.euid = 1000; }},
        {"os", [](installer::system::Facts& f) { f.os_version_id = "18.04"; }},
        {"arch", [](installer::system::Facts& f) { f.arch = "arm64"; }},
        {"cpu", [](installer::system::Facts& f) { f.cpus = 1; }},
        {"memory", [](installer::system::Facts& f) { f.memory_bytes = 2ull << 30; }},
        {"disk", [](installer::system::Facts& f) { f.data_dir_free_bytes = 9ull << 30; }},
    };
    for (const Case& c : cases) {
        CAPTURE(c.id);
        auto facts = good_node();
        c.spoil(facts);
        auto rs = evaluate_preflight(facts, plan, k_platforms, 0, {});
        CHECK(failed(rs) == std::vector<std::string>{c.id});
        CHECK(!find(rs, c.id).fix.empty());
        auto skipped = evaluate_preflight(facts, plan, k_platforms, 0, {c.id});
        CHECK(failed(skipped).empty());
        CHECK(find(skipped, c.id).skipped);
    }
}

TEST_CASE("preflight store-space needs the bundle's bytes plus head room")
{
    auto facts = good_node();
    facts.data_dir_free_bytes = 100ull << 20;
    common::bundle::RolePlan plan;
    plan.minima.disk_gb = 0;
    CHECK(failed(evaluate_preflight(facts, plan, k_platforms, 90ull << 20, {})).empty());
    CHECK(failed(evaluate_preflight(facts, plan, k_platforms, 99ull << 20, {})) == std::vector<std::string>{"store-space"});
}

TEST_SUITE_END();
