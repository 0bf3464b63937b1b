// SPDX-License-Identifier: Apache-2.0
// cluster.yaml (`--config`): the inventory the seeds write by hand (002's hosts with has_gpu and my_iface,
// 004's master/node groups and VIP, 000's roles), one file for every node of a cluster:
//
//   cluster:
//     name: ml-prod
//     registration: 10.0.0.100     # the address nodes join through: the VIP, or the first master (default)
//     vip: 10.0.0.100              # a floating address keepalived moves between masters (HA); optional
//     interface: eth1              # the private network's device (seed 002's my_iface); per node too
//     token_file: /etc/platform-installer/token  # optional: made on the first master (0600) when absent
//     virtual_router_id: 51        # optional VRRP id of the VIP (1-255; default from the cluster name)
//   nodes:
//     - {name: master1, address: 10.0.0.11/24, role: master}
//     - {name: gpu1, address: 10.0.0.21/24, role: worker, has_gpu: true,
//        labels: {train: "true", org: vision}, taints: ["nvidia.com/gpu=present:NoSchedule"]}
//
// Addresses are IPv4 or IPv6 literals, never host names (the installer resolves no names), with the
// prefix length of their subnet (10.0.0.11/24; without one a single address). Errors name the file and
// line. Refused: an even number of masters (etcd loses quorum when one of two fails), a duplicate name or
// address, a VIP in no master's subnet, or a VIP that is a node's own address.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <common/util/error.hpp>

namespace installer::cluster {

using common::Result;

// An IPv4 or IPv6 address with the prefix length of its subnet.
struct Address {
    int family = 0;             // AF_INET or AF_INET6
    std::uint8_t bytes[16]{};   // network order; 4 used for IPv4
    int prefix = 0;             // 32 or 128 when the file gave none
    std::string text;           // as written, without the prefix

    // Parses "10.0.0.11", "10.0.0.11/24", "fd00::5/64"; no host names.
    static Result<Address> parse(std::string_view s);
    // Whether `other` lies in this address's subnet (same family, same first `prefix` bits).
    bool subnet_holds(const Address& other) const;
    bool same_host(const Address& other) const;
    // As a URL's host: "10.0.0.11", or "[fd00::5]" for IPv6.
    std::string url_host() const;
};

enum class Role { master, worker };
std::string_view to_string(Role role);

struct Node {
    std::string name;
    Address address;
    Role role = Role::worker;
    bool has_gpu = false;
    std::string interface; // the node's own, else the cluster's
    std::map<std::string, std::string> labels;
    std::vector<std::string> taints; // key[=value]:Effect
    std::size_t line = 0;            // in cluster.yaml, for messages
};

struct Inventory {
    std::string path; // the file it came from
    std::string name;
    std::optional<Address> vip;
    Address registration; // the VIP, the given address, or the first master's
    std::string interface;
    std::string token_file;
    int virtual_router_id = 0; // VRRP id of the VIP's keepalived instance
    std::vector<Node> nodes;

    // The masters run keepalived (the VIP) and haproxy (every master's API server behind it) when the
    // registration address is the VIP; a registration address of another load balancer is the operator's.
    bool builtin_balancer() const { return vip && registration.same_host(*vip); }
    // Where the registration address serves the API: haproxy's port on the VIP (k3s's own API server holds
    // 6443 on every master, on every address), else k3s's 6443.
    int api_port() const { return builtin_balancer() ? k_balancer_port : k_api_port; }
    static constexpr int k_api_port = 6443;
    static constexpr int k_balancer_port = 16443;

    // Parses and checks cluster.yaml text (display_path names it in errors).
    static Result<Inventory> parse(std::string text, std::string display_path);
    static Result<Inventory> load(const std::string& path);

    const Node& first_master() const; // the node that runs cluster-init
    std::vector<const Node*> masters() const;
    const Node* find(std::string_view name) const;

    // Which node this is: --node NAME when given, else the node named as the hostname, else the one
    // whose address this machine holds. Fails naming what it tried.
    Result<const Node*> identify(std::string_view node_flag, std::string_view hostname,
                                 const std::vector<Address>& held) const;
};

// The IP addresses this machine's interfaces hold now (getifaddrs: the network namespace the installer
// runs in), loopback included.
std::vector<Address> held_addresses();
// The device holding `a` there (eth0), or empty when none does.
std::string device_holding(const Address& a);

} // namespace installer::cluster
