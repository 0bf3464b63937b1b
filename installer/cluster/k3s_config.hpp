// SPDX-License-Identifier: Apache-2.0
// What k3s is told on one node of a cluster.yaml: /etc/rancher/k3s/config.yaml (k3s reads its flags from
// it: https://docs.k3s.io/installation/configuration#configuration-file) and the install.sh environment.
#pragma once

#include <map>
#include <string>

#include <installer/cluster/inventory.hpp>

namespace installer::cluster {

// The node's labels (seed 003): gpu=true or cpu=true from has_gpu (a GPU node also nvidia.com/gpu.present=true,
// where NVIDIA's device plugin runs), org=public unless the inventory says otherwise, then the inventory's
// own labels (train, notebook, service, ...).
std::map<std::string, std::string> node_labels(const Node& node);

// config.yaml for `self`: the first master starts the cluster (cluster-init), the other masters join it
// as servers, workers as agents, all through the registration address with the token file; tls-san
// carries the VIP and the registration address; node-ip and flannel-iface pin the private network;
// disable-default-registry-endpoint keeps containerd off the internet (the mirrors are the node's).
std::string k3s_config_yaml(const Inventory& inv, const Node& self);

// INSTALL_K3S_EXEC for install.sh: "server" or "agent" (the rest is in config.yaml).
std::string k3s_exec(const Node& self);

} // namespace installer::cluster
