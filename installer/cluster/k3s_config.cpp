// SPDX-License-Identifier: Apache-2.0
#include <installer/cluster/k3s_config.hpp>

#include <set>
#include <sys/socket.h>

namespace installer::cluster {

std::map<std::string, std::string> node_labels(const Node& node)
{
    std::map<std::string, std::string> labels{{node.has_gpu ? "gpu" : "cpu", "true"}, {"org", "public"}};
    // NVIDIA's device plugin chart runs where this label is (its affinity's way to "force" a GPU node
    // without node-feature-discovery, which the platform does not deploy).
    if (node.has_gpu) labels["nvidia.com/gpu.present"] = "true";
    for (const auto& [k, v] : node.labels) labels[k] = v;
    return labels;
}

namespace {

// A YAML double-quoted scalar (labels and taints may hold ':' and '/').
std::string quoted(std::string_view s)
{
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

} // namespace

std::string k3s_config_yaml(const Inventory& inv, const Node& self)
{
    std::string out = fmt::format("# Written by platform-installer from {} (cluster {}, node {}).\n", inv.path, inv.name, self.name);
    bool first = self.name == inv.first_master().name;
    if (first) out += "cluster-init: true\n";
    else out += fmt::format("server: {}\n", quoted(fmt::format("https://{}:{}", inv.registration.url_host(), inv.api_port())));
    out += fmt::format("token-file: {}\n", quoted(inv.token_file));
    out += fmt::format("node-name: {}\n", quoted(self.name));
    out += fmt::format("node-ip: {}\n", quoted(self.address.text));
    if (!self.interface.empty()) out += fmt::format("flannel-iface: {}\n", quoted(self.interface));
    if (self.role == Role::master) {
        std::set<std::string> sans{inv.registration.text, self.address.text};
        if (inv.vip) sans.insert(inv.vip->text);
        out += "tls-san:\n";
        for (const std::string& s : sans) out += fmt::format("  - {}\n", quoted(s));
    }
    out += "node-label:\n";
    for (const auto& [k, v] : node_labels(self)) out += fmt::format("  - {}\n", quoted(k + "=" + v));
    if (!self.taints.empty()) {
        out += "node-taint:\n";
        for (const std::string& t : self.taints) out += fmt::format("  - {}\n", quoted(t));
    }
    out += "disable-default-registry-endpoint: true\n";
    return out;
}

std::string k3s_exec(const Node& self) { return self.role == Role::master ? "server" : "agent"; }

} // namespace installer::cluster
