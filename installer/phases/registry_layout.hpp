// SPDX-License-Identifier: Apache-2.0
// What the registry phase lays out, as pure functions of the bundle's images (tested without a node):
// - the CNCF Distribution filesystem-driver tree (distribution/registry/storage/paths.go, format 2.x/3.x):
//     docker/registry/v2/blobs/sha256/<2 hex>/<hex>/data                  the bytes (a hard link of the store blob)
//     docker/registry/v2/repositories/<repo>/_manifests/revisions/sha256/<hex>/link   "sha256:<hex>"
//     docker/registry/v2/repositories/<repo>/_manifests/tags/<tag>/current/link        the tag's digest
//     docker/registry/v2/repositories/<repo>/_manifests/tags/<tag>/index/sha256/<hex>/link
//     docker/registry/v2/repositories/<repo>/_layers/sha256/<hex>/link     configs and layers
//   <repo> is the image name without its registry host (containerd asks a mirror for the path only).
// - the registry's config (read-only), and the mirror configuration of k3s (registries.yaml) and of
//   containerd (certs.d/<host>/hosts.toml): images keep their names; this node's registry first.
#pragma once

#include <string>
#include <vector>

#include <common/oci/image_manifest.hpp>
#include <installer/system/system.hpp>

namespace installer::phases {

using common::Result;

// Node paths of what the phase writes.
inline constexpr std::string_view k_registry_binary = "/usr/local/bin/registry";
inline constexpr std::string_view k_registry_root = "/var/lib/platform-installer/registry";
inline constexpr std::string_view k_registry_config = "/etc/platform-installer/registry.yml";
inline constexpr std::string_view k_registry_service = "platform-registry";
inline constexpr std::string_view k_k3s_registries = "/etc/rancher/k3s/registries.yaml";
inline constexpr std::string_view k_containerd_certs = "/etc/containerd/certs.d";

// The tree's entries, sorted; blobs link to <store>/blobs/sha256/<hex> (store: the store's node path).
// invalid_argument when two images claim one repository tag with different digests.
Result<std::vector<system::TreeEntry>> registry_tree(const std::vector<common::oci::LockedImage>& images, std::string_view store);

// The registry's config: read-only, serving k_registry_root on `listen` (":5000", "10.0.0.1:5000").
std::string registry_config(std::string_view listen);

// This node's registry as the others reach it locally ("http://127.0.0.1:5000" for ":5000"), then the peers.
Result<std::vector<std::string>> mirror_endpoints(std::string_view listen, const std::vector<std::string>& peers);
// Another node's registry, at the port this node's listens on ([IP]:PORT): "http://<url_host>:PORT".
std::string peer_registry_url(std::string_view url_host, std::string_view listen);

// k3s's registries.yaml: "*" and every registry host the images come from, each served by `endpoints`.
std::string k3s_registries(const std::vector<std::string>& hosts, const std::vector<std::string>& endpoints);
// containerd's hosts.toml for one registry host ("_default" for all others).
std::string containerd_hosts(std::string_view host, const std::vector<std::string>& endpoints);
// The registry hosts of the images, sorted, each once ("docker.io", "ghcr.io").
std::vector<std::string> image_hosts(const std::vector<common::oci::LockedImage>& images);

} // namespace installer::phases
