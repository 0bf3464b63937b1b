// SPDX-License-Identifier: Apache-2.0
#include <installer/phases/registry_layout.hpp>

#include <common/oci/reference.hpp>
#include <installer/node/node_paths.hpp>

#include <algorithm>
#include <map>
#include <set>

namespace installer::phases {

using common::Errc;
using common::fail;
using common::oci::Descriptor;

namespace {

std::string link_to(const common::digest::Digest& d) { return d.str(); }

std::string dq(std::string_view s) { return fmt::format("\"{}\"", s); }

} // namespace

Result<std::vector<system::TreeEntry>> registry_tree(const std::vector<common::oci::LockedImage>& images, std::string_view store)
{
    std::map<std::string, system::TreeEntry> out; // sorted by path, each once
    std::map<std::string, std::pair<std::string, common::digest::Digest>> tags; // "<repo>:<tag>" -> (ref, digest)
    auto put = [&](std::string path, std::string link_from, std::string content) {
        out.try_emplace(path, system::TreeEntry{path, std::move(link_from), std::move(content)});
    };
    const std::string v2 = "docker/registry/v2/";
    for (const common::oci::LockedImage& image : images) {
        std::size_t slash = image.name.find('/');
        if (slash == std::string::npos) return fail(Errc::invalid_argument, "image {}: name '{}' has no registry host", image.ref, image.name);
        std::string repo = v2 + "repositories/" + image.name.substr(slash + 1) + "/";
        for (const Descriptor& d : image.blobs())
            put(v2 + "blobs/sha256/" + d.digest.hex().substr(0, 2) + "/" + d.digest.hex() + "/data",
                node::NodePaths::blob_in(store, d.digest), "");
        auto revision = [&](const Descriptor& d) { put(repo + "_manifests/revisions/sha256/" + d.digest.hex() + "/link", "", link_to(d.digest)); };
        auto layer = [&](const Descriptor& d) { put(repo + "_layers/sha256/" + d.digest.hex() + "/link", "", link_to(d.digest)); };
        revision(image.top);
        for (const common::oci::ImagePlatform& p : image.platforms) {
            revision(p.manifest);
            layer(p.config);
            for (const Descriptor& l : p.layers) layer(l);
        }
        if (image.tag.empty()) continue;
        std::string key = image.name.substr(slash + 1) + ":" + image.tag;
        auto [it, fresh] = tags.try_emplace(key, image.ref, image.top.digest);
        if (!fresh && it->second.second != image.top.digest)
            return fail(Errc::invalid_argument, "images {} and {} both need the registry tag {} with different digests ({} and {})",
                        it->second.first, image.ref, key, it->second.second.str(), image.top.digest.str());
        put(repo + "_manifests/tags/" + image.tag + "/current/link", "", link_to(image.top.digest));
        put(repo + "_manifests/tags/" + image.tag + "/index/sha256/" + image.top.digest.hex() + "/link", "", link_to(image.top.digest));
    }
    std::vector<system::TreeEntry> entries;
    for (auto& [path, e] : out) entries.push_back(std::move(e));
    return entries;
}

std::string registry_config(std::string_view listen)
{
    return fmt::format(R"(# Written by platform-installer: serves the bundle's images, read-only, from a tree of hard links
# to the node store ({}). `platform-installer --reset` removes it.
version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: {}
  maintenance:
    uploadpurging:
      enabled: false
    readonly:
      enabled: true
  delete:
    enabled: false
http:
  addr: "{}"
)",
                       "/var/lib/platform-installer/store", k_registry_root, listen);
}

std::string peer_registry_url(std::string_view url_host, std::string_view listen)
{
    return fmt::format("http://{}:{}", url_host, listen.substr(listen.rfind(':') + 1));
}

Result<std::vector<std::string>> mirror_endpoints(std::string_view listen, const std::vector<std::string>& peers)
{
    std::size_t colon = listen.rfind(':');
    if (colon == std::string_view::npos || colon + 1 == listen.size())
        return fail(Errc::invalid_argument, "registry address '{}': want [IP]:PORT", listen);
    std::string host(listen.substr(0, colon));
    if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
    if (host == "[::]") host = "[::1]";
    std::vector<std::string> out{fmt::format("http://{}:{}", host, listen.substr(colon + 1))};
    for (const std::string& p : peers) {
        if (!p.starts_with("http://") && !p.starts_with("https://"))
            return fail(Errc::invalid_argument, "registry peer '{}': want http://IP:PORT", p);
        if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
    }
    return out;
}

std::string k3s_registries(const std::vector<std::string>& hosts, const std::vector<std::string>& endpoints)
{
    std::string out = "# Written by platform-installer: every registry the bundle's images come from (and \"*\"), served\n"
                      "# by this node's registry first, then the masters'. Images keep their names.\nmirrors:\n";
    std::vector<std::string> all{"*"};
    all.insert(all.end(), hosts.begin(), hosts.end());
    for (const std::string& h : all) {
        out += fmt::format("  {}:\n    endpoint:\n", dq(h));
        for (const std::string& e : endpoints) out += fmt::format("      - {}\n", dq(e));
    }
    return out;
}

std::string containerd_hosts(std::string_view host, const std::vector<std::string>& endpoints)
{
    std::string out = "# Written by platform-installer: this node's registry first, then the masters'.\n";
    if (host != "_default") out += fmt::format("server = {}\n", dq(common::oci::registry_url(host)));
    for (const std::string& e : endpoints) out += fmt::format("\n[host.{}]\n  capabilities = [\"pull\", \"resolve\"]\n", dq(e));
    return out;
}

std::vector<std::string> image_hosts(const std::vector<common::oci::LockedImage>& images)
{
    std::set<std::string> hosts;
    for (const common::oci::LockedImage& image : images) hosts.insert(image.name.substr(0, image.name.find('/')));
    return {hosts.begin(), hosts.end()};
}

} // namespace installer::phases
