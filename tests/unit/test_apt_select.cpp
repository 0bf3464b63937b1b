// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <installer/phases/apt_select.hpp>

#include <algorithm>

using common::bundle::DebEntry;
using common::bundle::DebRequest;
using installer::phases::node_debs;

TEST_SUITE_BEGIN("cluster");

namespace {

// A closure as the lock pins it: the HA pair for masters, the NVIDIA toolkit for GPU nodes, socat for
// every node; libc6 is in the base set (not carried).
std::vector<DebEntry> closure()
{
    std::vector<DebEntry> out;
    for (const char* n : {"haproxy", "keepalived", "libnl-3-200", "liblua5.3-0", "nvidia-container-toolkit",
                          "nvidia-container-toolkit-base", "libnvidia-container-tools", "libnvidia-container1", "socat", "libwrap0"})
        out.push_back({n, "1", "amd64", std::string("pool/") + n + ".deb", {}});
    return out;
}

const char* k_packages = R"(Package: haproxy
Version: 1
Depends: libc6 (>= 2.34), liblua5.3-0,
 adduser
Description: x

Package: keepalived
Version: 1
Pre-Depends: init-system-helpers (>= 1.54~)
Depends: libnl-3-200 (>= 3.2.27) | libnl-legacy, libc6
Recommends: ipvsadm

Package: nvidia-container-toolkit
Version: 1
Depends: nvidia-container-toolkit-base (= 1), libnvidia-container-tools (>= 1) | nvidia-tools-any

Package: libnvidia-container-tools
Version: 1
Depends: libnvidia-container1:amd64 (>= 1)

Package: socat
Version: 1
Depends: libwrap0-any, libc6

Package: libwrap0
Version: 1
Provides: libwrap0-any
)";

std::vector<std::string> names(const std::vector<DebEntry>& debs)
{
    std::vector<std::string> out;
    for (const auto& d : debs) out.push_back(d.name);
    std::sort(out.begin(), out.end());
    return out;
}

const std::vector<DebRequest> k_requests{
    {"haproxy", {"master"}, false}, {"keepalived", {"master"}, false}, {"nvidia-container-toolkit", {}, true}, {"socat", {}, false}};

} // namespace

TEST_CASE("a bundle without requests installs its whole closure on every node")
{
    CHECK(node_debs(closure(), k_packages, {}, "worker", false).size() == closure().size());
}

TEST_CASE("a master without a GPU gets the HA pair and what every node gets - followed through Depends and Provides")
{
    CHECK(names(node_debs(closure(), k_packages, k_requests, "master", false)) ==
          std::vector<std::string>{"haproxy", "keepalived", "liblua5.3-0", "libnl-3-200", "libwrap0", "socat"});
}

TEST_CASE("a GPU worker gets the toolkit closure and no HA pair")
{
    CHECK(names(node_debs(closure(), k_packages, k_requests, "worker", true)) ==
          std::vector<std::string>{"libnvidia-container-tools", "libnvidia-container1", "libwrap0", "nvidia-container-toolkit",
                                   "nvidia-container-toolkit-base", "socat"});
}

TEST_CASE("a CPU worker gets only what every node gets")
{
    CHECK(names(node_debs(closure(), k_packages, k_requests, "worker", false)) == std::vector<std::string>{"libwrap0", "socat"});
}

TEST_CASE("a GPU master gets everything the requests name")
{
    CHECK(node_debs(closure(), k_packages, k_requests, "master", true).size() == closure().size());
}

TEST_SUITE_END();
