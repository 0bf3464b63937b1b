// SPDX-License-Identifier: Apache-2.0
// Addons: the component's addons: list, the images the bundler reads from manifests and charts, and the
// files the first master writes for k3s (HelmChart inline or served from static/charts).
#include <doctest/doctest.h>

#include "scratch.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <bundler/build/addon_images.hpp>
#include <common/manifest/manifests.hpp>
#include <common/util/base64.hpp>
#include <installer/cluster/addon_manifests.hpp>

#include <memory>
#include <utility>
#include <vector>

using bundler::build::carries_image;
using bundler::build::chart_images;
using bundler::build::manifest_images;
using common::bundle::AddonEntry;
using common::bundle::AddonKind;

TEST_SUITE_BEGIN("cluster");

namespace {

// A .tgz holding `files` (path, content), as `helm package` writes a chart.
std::string tgz(const std::vector<std::pair<std::string, std::string>>& files)
{
    std::string out;
    std::unique_ptr<archive, decltype(&archive_write_free)> a(archive_write_new(), &archive_write_free);
    archive_write_add_filter_gzip(a.get());
    archive_write_set_format_pax_restricted(a.get());
    auto write = [](archive*, void* self, const void* buf, size_t n) -> la_ssize_t {
        static_cast<std::string*>(self)->append(static_cast<const char*>(buf), n);
        return static_cast<la_ssize_t>(n);
    };
    REQUIRE(archive_write_open(a.get(), &out, nullptr, write, nullptr) == ARCHIVE_OK);
    for (const auto& [path, content] : files) {
        std::unique_ptr<archive_entry, decltype(&archive_entry_free)> e(archive_entry_new(), &archive_entry_free);
        archive_entry_set_pathname(e.get(), path.c_str());
        archive_entry_set_filetype(e.get(), AE_IFREG);
        archive_entry_set_perm(e.get(), 0644);
        archive_entry_set_size(e.get(), static_cast<la_int64_t>(content.size()));
        REQUIRE(archive_write_header(a.get(), e.get()) == ARCHIVE_OK);
        REQUIRE(archive_write_data(a.get(), content.data(), content.size()) == static_cast<la_ssize_t>(content.size()));
    }
    REQUIRE(archive_write_close(a.get()) == ARCHIVE_OK);
    return out;
}

std::span<const std::byte> bytes(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

const std::string k_plugin_chart_yaml = "apiVersion: v2\nname: nvidia-device-plugin\nversion: 0.20.0\nappVersion: 0.20.0\n";
const std::string k_plugin_values = R"(image:
  repository: nvcr.io/nvidia/k8s-device-plugin
  pullPolicy: IfNotPresent
  tag: ""
runtimeClassName: null
gfd:
  enabled: false
)";
const std::string k_plugin_template = R"(apiVersion: apps/v1
kind: DaemonSet
spec:
  template:
    spec:
      containers:
        - image: {{ include "nvidia-device-plugin.fullimage" . }}
          name: nvidia-device-plugin-ctr
      initContainers:
        - name: wait
          image: "docker.io/library/busybox:1.36"   # a literal one
)";

} // namespace

TEST_CASE("manifest_images reads every image: key of every document once")
{
    auto got = manifest_images(R"(apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: nvidia}
handler: nvidia
---
apiVersion: apps/v1
kind: Deployment
spec:
  template:
    spec:
      initContainers:
        - {name: init, image: "busybox:1.36"}
      containers:
        - name: app
          image: registry.example/app:2@sha256:0000000000000000000000000000000000000000000000000000000000000001
        - name: again
          image: busybox:1.36
        - name: templated
          image: "{{ .Values.image }}"
)");
    REQUIRE(got);
    CHECK(*got == std::vector<std::string>{"busybox:1.36",
                                           "registry.example/app:2@sha256:0000000000000000000000000000000000000000000000000000000000000001"});
    auto broken = manifest_images("a: [1, 2\nb: c\n");
    REQUIRE_FALSE(broken);
    CHECK(broken.error().message.find("line") != std::string::npos);
}

TEST_CASE("chart_images composes repository and tag from values - an empty tag is the appVersion")
{
    std::string chart = tgz({{"nvidia-device-plugin/Chart.yaml", k_plugin_chart_yaml},
                             {"nvidia-device-plugin/values.yaml", k_plugin_values},
                             {"nvidia-device-plugin/templates/daemonset.yml", k_plugin_template},
                             // A subchart is not read (its images come with its own values, often disabled).
                             {"nvidia-device-plugin/charts/nfd/values.yaml", "image: {repository: registry.k8s.io/nfd/nfd, tag: v0.19.0}\n"}});
    auto plain = chart_images(bytes(chart), "");
    REQUIRE(plain);
    CHECK(*plain == std::vector<std::string>{"nvcr.io/nvidia/k8s-device-plugin:0.20.0", "docker.io/library/busybox:1.36"});
    // The component's values win, key by key (the tag NVIDIA's images carry has a "v").
    auto tagged = chart_images(bytes(chart), "image:\n  tag: v0.20.0\nruntimeClassName: nvidia\n");
    REQUIRE(tagged);
    CHECK(tagged->front() == "nvcr.io/nvidia/k8s-device-plugin:v0.20.0");
    // registry + repository, and a digest over the tag.
    auto pinned = chart_images(bytes(chart), "image:\n  registry: mirror.local\n  digest: sha256:"
                                             "00000000000000000000000000000000000000000000000000000000000000aa\n");
    REQUIRE(pinned);
    CHECK(pinned->front() ==
          "mirror.local/nvcr.io/nvidia/k8s-device-plugin@sha256:00000000000000000000000000000000000000000000000000000000000000aa");
}

TEST_CASE("chart_images refuses what is not a chart and names a broken file")
{
    CHECK_FALSE(chart_images(bytes(std::string("not a tarball")), ""));
    auto no_chart = chart_images(bytes(tgz({{"x/values.yaml", "a: 1\n"}})), "");
    REQUIRE_FALSE(no_chart);
    CHECK(no_chart.error().message.find("no <chart>/Chart.yaml") != std::string::npos);
    auto broken = chart_images(bytes(tgz({{"x/Chart.yaml", "name: x\n"}, {"x/values.yaml", "a: [\n"}})), "");
    REQUIRE_FALSE(broken);
    CHECK(broken.error().message.find("x/values.yaml: line") != std::string::npos);
    auto bad_values = chart_images(bytes(tgz({{"x/Chart.yaml", "name: x\n"}})), "a: [\n");
    REQUIRE_FALSE(bad_values);
    CHECK(bad_values.error().message.find("the component's values") != std::string::npos);
}

TEST_CASE("carries_image matches by repository and tag or by a pinned digest")
{
    common::oci::LockedImage image;
    image.name = "docker.io/library/busybox";
    image.tag = "1.36";
    image.top.digest = *common::digest::Digest::parse("sha256:00000000000000000000000000000000000000000000000000000000000000a1");
    common::oci::ImagePlatform amd64;
    amd64.manifest.digest = *common::digest::Digest::parse("sha256:00000000000000000000000000000000000000000000000000000000000000b2");
    image.platforms.push_back(amd64);
    std::vector<common::oci::LockedImage> images{image};
    CHECK(carries_image(images, "busybox:1.36"));
    CHECK(carries_image(images, "docker.io/library/busybox:1.36"));
    CHECK_FALSE(carries_image(images, "busybox:1.37"));
    CHECK_FALSE(carries_image(images, "busybox"));     // latest: not what was pinned
    CHECK_FALSE(carries_image(images, "quay.io/busybox:1.36"));
    CHECK(carries_image(images, "busybox@sha256:00000000000000000000000000000000000000000000000000000000000000a1"));
    CHECK(carries_image(images, "busybox:9@sha256:00000000000000000000000000000000000000000000000000000000000000b2"));
    CHECK_FALSE(carries_image(images, "busybox:1.36@sha256:00000000000000000000000000000000000000000000000000000000000000c3"));
}

TEST_CASE("helm_chart_yaml inlines a small chart and serves a big one from static/charts")
{
    std::string chart = tgz({{"c/Chart.yaml", "name: c\n"}});
    AddonEntry a{"device-plugin", "nvidia", AddonKind::chart, "https://example.invalid/c.tgz", "kube-system",
                 "image:\n  tag: v1\n\nruntimeClassName: nvidia\n",
                 {common::digest::sha256_of(bytes(chart)), chart.size()}};
    CHECK(installer::cluster::addon_manifest_path(a) == "/var/lib/rancher/k3s/server/manifests/platform-device-plugin.yaml");
    CHECK_FALSE(installer::cluster::chart_served_static(a));
    std::string inline_yaml = installer::cluster::helm_chart_yaml(a, chart);
    CHECK(inline_yaml.find("kind: HelmChart\nmetadata:\n  name: device-plugin\n  namespace: kube-system\n") != std::string::npos);
    CHECK(inline_yaml.find("  targetNamespace: kube-system\n  createNamespace: true\n") != std::string::npos);
    CHECK(inline_yaml.find("  chartContent: " + common::base64_encode(chart) + "\n") != std::string::npos);
    CHECK(inline_yaml.find("  valuesContent: |-\n    image:\n      tag: v1\n\n    runtimeClassName: nvidia\n") != std::string::npos);
    CHECK(inline_yaml.find("  chart: ") == std::string::npos);

    a.blob.size = installer::cluster::k_inline_chart_max + 1;
    CHECK(installer::cluster::chart_served_static(a));
    std::string path = installer::cluster::static_chart_path(a);
    CHECK(path == "/var/lib/rancher/k3s/server/static/charts/device-plugin-" + a.blob.digest.hex().substr(0, 12) + ".tgz");
    std::string static_yaml = installer::cluster::helm_chart_yaml(a, {});
    CHECK(static_yaml.find("  chart: https://%{KUBERNETES_API}%/static/charts/device-plugin-" + a.blob.digest.hex().substr(0, 12) +
                           ".tgz\n") != std::string::npos);
    CHECK(static_yaml.find("chartContent") == std::string::npos);
}

TEST_CASE("a component's addons: sources, values and the errors that name the line")
{
    Scratch s;
    s.write("manifests/profiles/p.yaml", R"(name: p
version: 1.0.0
platforms: [{os: debian, release: "12", arch: amd64}]
components: [c]
roles:
  master: {phases: [preflight, store, k3s, addons]}
)");
    s.write("manifests/addons/runtimeclass.yaml", "kind: RuntimeClass\n");
    s.write("manifests/addons/plugin-values.yaml", "runtimeClassName: nvidia\n");
    auto component = [&](const std::string& addons) { s.write("manifests/components/c.yaml", "name: c\naddons:\n" + addons); };
    component(R"(  - {name: runtimeclass, manifest: addons/runtimeclass.yaml}
  - name: device-plugin
    chart: https://nvidia.github.io/k8s-device-plugin/stable/nvidia-device-plugin-0.20.0.tgz
    sha256: "9e5642bcdd3805c6e931f9d3ca542677d1f714d68c14c1364892011e67d9a606"
    sha256_source: "the chart repository's index.yaml"
    namespace: kube-system
    values: addons/plugin-values.yaml
)");
    auto m = common::manifest::load_manifests(s / "manifests", "p");
    REQUIRE_MESSAGE(m, m.error().message);
    const auto& addons = m->components.at(0).addons;
    REQUIRE(addons.size() == 2);
    CHECK(addons[0].kind == AddonKind::manifest);
    CHECK(addons[0].local_content == "kind: RuntimeClass\n");
    CHECK_FALSE(addons[0].remote);
    CHECK(addons[1].kind == AddonKind::chart);
    REQUIRE(addons[1].remote);
    CHECK(addons[1].target_namespace == "kube-system");
    CHECK(addons[1].values == "runtimeClassName: nvidia\n");
    // Pinned like a file: `bundler lock` finds the chart's URL with the files.
    auto pinned = m->components.at(0).pinned_files();
    REQUIRE(pinned.size() == 1);
    CHECK(pinned[0]->url == addons[1].remote->url);
    CHECK(pinned[0]->published_sha256);

    auto refused = [&](const std::string& addons, const std::string& want) {
        component(addons);
        auto r = common::manifest::load_manifests(s / "manifests", "p");
        REQUIRE_FALSE(r);
        CHECK_MESSAGE(r.error().message.find(want) != std::string::npos, r.error().message);
    };
    refused("  - {name: x, manifest: addons/runtimeclass.yaml, chart: http://a.invalid/c.tgz}\n", "c.yaml:3");
    refused("  - {name: x}\n", "give one of manifest: or chart:");
    refused("  - {name: Bad_Name, manifest: addons/runtimeclass.yaml}\n", "k3s names the AddOn platform-<name>");
    refused("  - {name: x, manifest: ../outside.yaml}\n", "neither a URL nor a path inside the manifests folder");
    refused("  - {name: x, manifest: addons/missing.yaml}\n", "c.yaml:3");
    refused("  - {name: x, manifest: addons/runtimeclass.yaml, namespace: y}\n", "namespace: and values: are for charts");
    refused("  - {name: x, manifest: addons/runtimeclass.yaml}\n  - {name: x, chart: http://a.invalid/c.tgz}\n", "'x' is listed twice");
    refused("  - {name: x, chart: http://a.invalid/c.tgz, sha256: \"9e5642bcdd3805c6e931f9d3ca542677d1f714d68c14c1364892011e67d9a606\"}\n",
            "sha256_source");
}
