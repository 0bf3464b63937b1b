// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include <installer/phases/phase.hpp>

namespace installer::phases {

// addons: on the first master of cluster.yaml only, the bundle's addons into k3s's auto-deploy folders
// (cluster/addon_manifests.hpp): manifests as they are, charts as HelmCharts (inline, or served from
// server/static/charts when big). Files already holding the right bytes are left alone, so a re-run
// changes nothing and k3s re-applies nothing. The other nodes have nothing to do: k3s applies the files
// to the whole cluster. Undone by reset like any file (k3s keeps what it applied: its uninstaller, run
// next by reset, removes the cluster itself).
std::unique_ptr<Phase> make_addons_phase(const common::bundle::PhaseInfo& info);

} // namespace installer::phases
