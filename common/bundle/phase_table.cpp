// SPDX-License-Identifier: Apache-2.0
#include <common/bundle/phase_table.hpp>

#include <algorithm>

namespace common::bundle {

const std::vector<PhaseInfo>& phase_table()
{
    static const std::vector<PhaseInfo> table{
        {"preflight", PhaseLevel::gate, "check root, OS, architecture, CPU, memory and disk"},
        {"store", PhaseLevel::state, "extract the bundle's blobs into the node store (verified)"},
        {"binaries", PhaseLevel::host, "install pinned binaries and files with their modes"},
        {"apt", PhaseLevel::host, "install the bundle's .deb packages with the node's apt, from a repository in the store signed on this node"},
        {"registry", PhaseLevel::host, "serve the bundle's images from this node's registry (seeded from the store by hard links)"},
        {"images", PhaseLevel::host, "write the images k3s imports at start (agent/images) from the store"},
        {"ha", PhaseLevel::host, "keepalived and haproxy on the masters: the VIP nodes join through, every master's API server behind it"},
        {"k3s", PhaseLevel::host, "k3s from the pinned binary and install.sh, configured from cluster.yaml; waits for the node to be Ready"},
        {"import", PhaseLevel::cluster, "import the profile's named images into the running containerd"},
        {"addons", PhaseLevel::host, "on the first master, the bundle's manifests and charts into k3s's auto-deploy folder"},
    };
    return table;
}

const PhaseInfo* find_phase(std::string_view name)
{
    const auto& table = phase_table();
    auto it = std::find_if(table.begin(), table.end(), [&](const PhaseInfo& p) { return p.name == name; });
    return it == table.end() ? nullptr : &*it;
}

std::size_t phase_order(std::string_view name)
{
    return static_cast<std::size_t>(find_phase(name) - phase_table().data());
}

std::string_view to_string(PhaseLevel level)
{
    switch (level) {
    case PhaseLevel::gate: return "gate";
    case PhaseLevel::state: return "state";
    case PhaseLevel::host: return "host";
    case PhaseLevel::cluster: return "cluster";
    }
    return "unknown";
}

} // namespace common::bundle
