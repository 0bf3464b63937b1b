// SPDX-License-Identifier: Apache-2.0
// What the first master writes for the bundle's addons, into k3s's auto-deploy folders
// (https://docs.k3s.io/installation/packaged-components: any file in server/manifests is applied like
// `kubectl apply`, at start and when it changes; an AddOn is named after the file):
//   - a manifest: server/manifests/platform-<name>.yaml, the bundle's bytes as they are;
//   - a chart: server/manifests/platform-<name>.yaml holding a HelmChart (helm.cattle.io/v1) for k3s's
//     helm controller. A chart up to k_inline_chart_max rides inside it as chartContent (base64); a bigger
//     one would not fit the objects the controller makes from it (a ConfigMap holds at most 1 MiB), so it
//     goes to server/static/charts/<name>-<digest prefix>.tgz, which k3s serves to its own helm jobs as
//     https://%{KUBERNETES_API}%/static/charts/... (the digest in the name makes a new chart a new URL,
//     which the controller sees as a change and upgrades).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <common/bundle/bundle_index.hpp>

namespace installer::cluster {

inline constexpr std::string_view k_manifests_dir = "/var/lib/rancher/k3s/server/manifests";
inline constexpr std::string_view k_static_charts_dir = "/var/lib/rancher/k3s/server/static/charts";
// 512 KiB of chart is 683 KiB of base64: with the values, well under the 1 MiB a ConfigMap may hold.
inline constexpr std::uint64_t k_inline_chart_max = 512 * 1024;

// server/manifests/platform-<name>.yaml
std::string addon_manifest_path(const common::bundle::AddonEntry& addon);

// True for a chart served from static/charts (too big to inline).
bool chart_served_static(const common::bundle::AddonEntry& addon);

// server/static/charts/<name>-<12 hex of its digest>.tgz
std::string static_chart_path(const common::bundle::AddonEntry& addon);

// The HelmChart for a chart addon: `chart` is the .tgz's bytes when it is inlined (ignored otherwise).
std::string helm_chart_yaml(const common::bundle::AddonEntry& addon, std::string_view chart);

} // namespace installer::cluster
