// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include <installer/phases/phase.hpp>

namespace installer::phases {

// k3s: with --config cluster.yaml, this node's k3s. The cluster token (made on the first master at
// cluster.token_file, 0600, never printed; copied there by the operator on the other nodes), then
// /etc/rancher/k3s/config.yaml (cluster/k3s_config.hpp), then the pinned upstream install.sh (the bundle
// file named k3s-install.sh, installed by the binaries phase) with INSTALL_K3S_SKIP_DOWNLOAD=true and
// INSTALL_K3S_EXEC=server|agent, which sets up the pinned k3s binary (/usr/local/bin/k3s) as a service;
// then waits, up to --k3s-ready-timeout, until `k3s kubectl` reports the node Ready (masters; an agent
// has no API credentials of its own: it waits for its kubelet's health endpoint, 127.0.0.1:10248).
std::unique_ptr<Phase> make_k3s_phase(const common::bundle::PhaseInfo& info);

} // namespace installer::phases
