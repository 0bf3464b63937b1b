// SPDX-License-Identifier: Apache-2.0
#include <installer/cluster/addon_manifests.hpp>

#include <fmt/format.h>

#include <common/util/base64.hpp>

namespace installer::cluster {

std::string addon_manifest_path(const common::bundle::AddonEntry& addon)
{
    return fmt::format("{}/platform-{}.yaml", k_manifests_dir, addon.name);
}

bool chart_served_static(const common::bundle::AddonEntry& addon)
{
    return addon.kind == common::bundle::AddonKind::chart && addon.blob.size > k_inline_chart_max;
}

std::string static_chart_path(const common::bundle::AddonEntry& addon)
{
    return fmt::format("{}/{}-{}.tgz", k_static_charts_dir, addon.name, addon.blob.digest.hex().substr(0, 12));
}

std::string helm_chart_yaml(const common::bundle::AddonEntry& addon, std::string_view chart)
{
    std::string out = fmt::format("# Written by platform-installer: addon {} of component {} ({}, {}).\n"
                                  "apiVersion: helm.cattle.io/v1\n"
                                  "kind: HelmChart\n"
                                  "metadata:\n"
                                  "  name: {}\n"
                                  "  namespace: kube-system\n"
                                  "spec:\n"
                                  "  targetNamespace: {}\n"
                                  "  createNamespace: true\n",
                                  addon.name, addon.component, addon.source, addon.blob.digest.str(), addon.name,
                                  addon.target_namespace.empty() ? "default" : addon.target_namespace);
    if (chart_served_static(addon)) {
        std::string path = static_chart_path(addon);
        out += fmt::format("  chart: https://%{{KUBERNETES_API}}%/static/charts/{}\n", path.substr(path.rfind('/') + 1));
    } else {
        out += fmt::format("  chartContent: {}\n", common::base64_encode(chart));
    }
    if (!addon.values.empty()) {
        out += "  valuesContent: |-\n";
        std::size_t begin = 0;
        while (begin < addon.values.size()) {
            std::size_t end = addon.values.find('\n', begin);
            if (end == std::string::npos) end = addon.values.size();
            std::string_view line(addon.values.data() + begin, end - begin);
            out += line.empty() ? "\n" : fmt::format("    {}\n", line);
            begin = end + 1;
        }
    }
    return out;
}

} // namespace installer::cluster
