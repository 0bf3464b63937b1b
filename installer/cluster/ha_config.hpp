// SPDX-License-Identifier: Apache-2.0
// The VIP of an HA cluster as seed 004 builds it: on every master keepalived (VRRP) holds the VIP on
// one master at a time, and haproxy spreads TCP connections to the VIP over every master's API server
// (round robin, health-checked). k3s's API server holds 6443 on every address of a master, so haproxy
// serves the VIP on Inventory::k_balancer_port (16443) and nodes join through https://VIP:16443.
// keepalived speaks unicast VRRP to the other masters (networks that drop multicast still work), all
// masters start as BACKUP and the highest priority (the first master) holds the VIP when it is up.
#pragma once

#include <string>

#include <installer/cluster/inventory.hpp>

namespace installer::cluster {

// keepalived.conf for `self` (a master of an inventory with a builtin balancer). `iface` is the device
// holding self's address, where the VIP is added.
std::string keepalived_conf(const Inventory& inv, const Node& self, const std::string& iface);

// haproxy.cfg: the VIP's port, every master's API server behind it.
std::string haproxy_cfg(const Inventory& inv, const Node& self);

// VRRP priority of a master: 150 for the first, 10 less for each next one.
int vrrp_priority(const Inventory& inv, const Node& self);

} // namespace installer::cluster
