// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <installer/cluster/inventory.hpp>
#include <installer/cluster/k3s_config.hpp>
#include <installer/phases/cluster_checks.hpp>

using installer::cluster::Address;
using installer::cluster::Inventory;
using installer::cluster::Role;

TEST_SUITE_BEGIN("cluster");

namespace {

// Seed 004's layout: 3 masters behind a VIP, and seed 002's GPU worker with its my_iface.
const char* k_ha = R"(cluster:
  name: ml-prod
  vip: 10.0.0.100
  interface: eth1
nodes:
  - {name: master1, address: 10.0.0.11/24, role: master}
  - {name: master2, address: 10.0.0.12/24, role: master}
  - {name: master3, address: 10.0.0.13/24, role: master}
  - name: gpu1
    address: 10.0.0.21/24
    role: worker
    has_gpu: true
    interface: ens5
    labels: {train: "true", org: vision}
    taints: ["nvidia.com/gpu=present:NoSchedule"]
  - {name: cpu1, address: 10.0.0.22/24, role: worker}
)";

std::string error_of(const std::string& text)
{
    auto inv = Inventory::parse(text, "cluster.yaml");
    REQUIRE(!inv);
    return inv.error().message;
}

std::string replace(std::string text, const std::string& from, const std::string& to)
{
    auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    return text.replace(at, from.size(), to);
}

} // namespace

TEST_CASE("cluster.yaml: the seeds' HA layout reads back with roles - GPUs - interfaces - labels and taints")
{
    auto inv = Inventory::parse(k_ha, "cluster.yaml");
    REQUIRE(inv);
    CHECK(inv->name == "ml-prod");
    CHECK(inv->nodes.size() == 5);
    CHECK(inv->masters().size() == 3);
    CHECK(inv->first_master().name == "master1");
    REQUIRE(inv->vip);
    CHECK(inv->registration.text == "10.0.0.100");
    const auto* gpu = inv->find("gpu1");
    REQUIRE(gpu);
    CHECK(gpu->role == Role::worker);
    CHECK(gpu->has_gpu);
    CHECK(gpu->interface == "ens5");
    CHECK(inv->find("cpu1")->interface == "eth1");
    CHECK(gpu->labels.at("org") == "vision");
    CHECK(gpu->taints == std::vector<std::string>{"nvidia.com/gpu=present:NoSchedule"});
    CHECK(inv->token_file == "/etc/platform-installer/cluster-token");
}

TEST_CASE("cluster.yaml: one node registers through itself and needs no VIP")
{
    auto inv = Inventory::parse("cluster: {name: one}\nnodes:\n  - {name: solo, address: 192.168.1.5, role: master, has_gpu: true}\n", "c.yaml");
    REQUIRE(inv);
    CHECK(inv->registration.text == "192.168.1.5");
    CHECK(!inv->vip);
}

TEST_CASE("cluster.yaml refuses what would break a cluster - each error names the file and line")
{
    // An even number of masters.
    std::string two = replace(k_ha, "  - {name: master3, address: 10.0.0.13/24, role: master}\n", "");
    auto msg = error_of(two);
    CHECK(msg.find("cluster.yaml:") == 0);
    CHECK(msg.find("2 masters") != std::string::npos);
    CHECK(msg.find("use 1, 3 or 5") != std::string::npos);
    // A duplicate name, naming both lines.
    msg = error_of(replace(k_ha, "name: master3", "name: master2"));
    CHECK(msg.find("cluster.yaml:8:") == 0);
    CHECK(msg.find("'master2' is already the name of the node at line 7") != std::string::npos);
    // A duplicate address (another prefix length is the same host).
    msg = error_of(replace(k_ha, "10.0.0.22/24", "10.0.0.21/16"));
    CHECK(msg.find("cluster.yaml:16:") == 0);
    CHECK(msg.find("10.0.0.21 is already the address of node gpu1") != std::string::npos);
    // A VIP in no master's subnet, and one that is a node's own address.
    msg = error_of(replace(k_ha, "vip: 10.0.0.100", "vip: 10.0.1.100"));
    CHECK(msg.find("cluster.yaml:3:") == 0);
    CHECK(msg.find("10.0.1.100 lies in no master's subnet") != std::string::npos);
    msg = error_of(replace(k_ha, "vip: 10.0.0.100", "vip: 10.0.0.12"));
    CHECK(msg.find("node master2's own address") != std::string::npos);
    // Several masters and no fixed registration address.
    msg = error_of(replace(k_ha, "  vip: 10.0.0.100\n", ""));
    CHECK(msg.find("3 masters need a fixed registration address") != std::string::npos);
    // A host name where an address belongs: the installer resolves no names.
    msg = error_of(replace(k_ha, "10.0.0.22/24", "cpu1.lab.example"));
    CHECK(msg.find("cluster.yaml:16:") == 0);
    CHECK(msg.find("never by name") != std::string::npos);
    // Typos, bad roles, labels and taints.
    CHECK(error_of(replace(k_ha, "has_gpu: true", "has_gpus: true")).find("unknown field") != std::string::npos);
    CHECK(error_of(replace(k_ha, "role: worker\n    has_gpu", "role: boss\n    has_gpu")).find("'boss' is neither master nor worker") !=
          std::string::npos);
    CHECK(error_of(replace(k_ha, "org: vision", "org: \"two words\"")).find("is not a label value") != std::string::npos);
    CHECK(error_of(replace(k_ha, "present:NoSchedule", "present:Never")).find("is not a taint") != std::string::npos);
    CHECK(error_of(replace(k_ha, "name: cpu1", "name: CPU_1")).find("is not a node name") != std::string::npos);
}

TEST_CASE("A node finds itself by --node - by hostname - or by an address it holds")
{
    auto inv = Inventory::parse(k_ha, "cluster.yaml");
    REQUIRE(inv);
    auto held = [](std::initializer_list<const char*> list) {
        std::vector<Address> out;
        for (const char* a : list) out.push_back(*Address::parse(a));
        return out;
    };
    CHECK((*inv->identify("master3", "master1", {}))->name == "master3");
    CHECK((*inv->identify("", "gpu1", {}))->name == "gpu1");
    CHECK((*inv->identify("", "localhost", held({"127.0.0.1", "10.0.0.12"})))->name == "master2");
    auto none = inv->identify("", "stranger", held({"127.0.0.1", "10.9.9.9"}));
    REQUIRE(!none);
    CHECK(none.error().message.find("no node is named 'stranger'") != std::string::npos);
    CHECK(none.error().message.find("10.9.9.9") != std::string::npos);
    CHECK(none.error().message.find("--node NAME") != std::string::npos);
    auto wrong = inv->identify("master9", "master1", {});
    REQUIRE(!wrong);
    CHECK(wrong.error().message.find("no node named 'master9'") != std::string::npos);
}

TEST_CASE("Addresses: IPv4 and IPv6 with a prefix - subnets compared bit by bit")
{
    auto a = Address::parse("10.0.0.11/23");
    REQUIRE(a);
    CHECK(a->subnet_holds(*Address::parse("10.0.1.200")));
    CHECK(!a->subnet_holds(*Address::parse("10.0.2.1")));
    auto v6 = Address::parse("fd00:1::5/64");
    REQUIRE(v6);
    CHECK(v6->subnet_holds(*Address::parse("fd00:1::ffff")));
    CHECK(!v6->subnet_holds(*Address::parse("10.0.0.11")));
    CHECK(!Address::parse("10.0.0.1/33"));
    CHECK(!Address::parse("10.0.0.1/"));
    CHECK(!Address::parse("master1"));
}

TEST_CASE("k3s config.yaml: the first master starts the cluster - the others join through the VIP - workers are agents")
{
    auto inv = Inventory::parse(k_ha, "cluster.yaml");
    REQUIRE(inv);
    using installer::cluster::k3s_config_yaml;
    using installer::cluster::k3s_exec;
    std::string first = k3s_config_yaml(*inv, *inv->find("master1"));
    CHECK(first == "# Written by platform-installer from cluster.yaml (cluster ml-prod, node master1).\n"
                   "cluster-init: true\n"
                   "token-file: \"/etc/platform-installer/cluster-token\"\n"
                   "node-name: \"master1\"\n"
                   "node-ip: \"10.0.0.11\"\n"
                   "flannel-iface: \"eth1\"\n"
                   "tls-san:\n  - \"10.0.0.100\"\n  - \"10.0.0.11\"\n"
                   "node-label:\n  - \"cpu=true\"\n  - \"org=public\"\n"
                   "disable-default-registry-endpoint: true\n");
    CHECK(k3s_exec(*inv->find("master1")) == "server");
    std::string second = k3s_config_yaml(*inv, *inv->find("master2"));
    CHECK(second.find("cluster-init") == std::string::npos);
    CHECK(second.find("server: \"https://10.0.0.100:16443\"\n") != std::string::npos);
    std::string gpu = k3s_config_yaml(*inv, *inv->find("gpu1"));
    CHECK(k3s_exec(*inv->find("gpu1")) == "agent");
    CHECK(gpu.find("server: \"https://10.0.0.100:16443\"\n") != std::string::npos);
    CHECK(gpu.find("tls-san") == std::string::npos);
    CHECK(gpu.find("flannel-iface: \"ens5\"\n") != std::string::npos);
    CHECK(gpu.find("node-label:\n  - \"gpu=true\"\n  - \"nvidia.com/gpu.present=true\"\n  - \"org=vision\"\n  - \"train=true\"\n") !=
          std::string::npos);
    CHECK(gpu.find("node-taint:\n  - \"nvidia.com/gpu=present:NoSchedule\"\n") != std::string::npos);
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("cluster");

TEST_CASE("the clock check reads an HTTP Date as the registry sends it")
{
    CHECK(installer::phases::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777);
    CHECK(installer::phases::parse_http_date("Mon, 23 Nov 2026 00:00:00 GMT") == 1795392000);
    CHECK_FALSE(installer::phases::parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT").has_value());
    CHECK_FALSE(installer::phases::parse_http_date("").has_value());
}

TEST_SUITE_END();
