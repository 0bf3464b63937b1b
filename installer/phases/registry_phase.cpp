// SPDX-License-Identifier: Apache-2.0
#include <installer/phases/registry_phase.hpp>

#include <installer/phases/registry_layout.hpp>
#include <installer/system/http_probe.hpp>
#include <installer/system/service_unit.hpp>

#include <common/util/failpoint.hpp>
#include <common/util/progress.hpp>

#include <chrono>
#include <thread>

namespace installer::phases {

namespace {

using common::Errc;
using common::fail;
using namespace std::chrono_literals;

constexpr auto k_ready_timeout = 60s;

system::ServiceSpec registry_service()
{
    return {std::string(k_registry_service), "platform-installer: the bundle's images, read-only",
            {std::string(k_registry_binary), "serve", std::string(k_registry_config)}, {}};
}

// The registries this node falls back to: --registry-peer, then (with cluster.yaml) every other
// master's, at the port this node's listens on (DESIGN: its own first, then the masters').
std::vector<std::string> registry_peers(const Context& ctx)
{
    std::vector<std::string> peers = ctx.options.registry_peers;
    if (!ctx.inventory || !ctx.self) return peers;
    for (const cluster::Node* m : ctx.inventory->masters())
        if (m->name != ctx.self->name) peers.push_back(peer_registry_url(m->address.url_host(), ctx.options.registry_listen));
    return peers;
}

// Every file the phase writes besides the tree, with its content.
Result<std::vector<std::pair<std::string, std::string>>> config_files(const Context& ctx)
{
    auto endpoints = mirror_endpoints(ctx.options.registry_listen, registry_peers(ctx));
    if (!endpoints) return fail(endpoints.error());
    std::vector<std::string> hosts = image_hosts(ctx.index.images);
    std::vector<std::pair<std::string, std::string>> files{
        {std::string(k_registry_config), registry_config(ctx.options.registry_listen)},
        {std::string(k_k3s_registries), k3s_registries(hosts, *endpoints)},
        {fmt::format("{}/_default/hosts.toml", k_containerd_certs), containerd_hosts("_default", *endpoints)},
    };
    for (const std::string& h : hosts) files.emplace_back(fmt::format("{}/{}/hosts.toml", k_containerd_certs, h), containerd_hosts(h, *endpoints));
    return files;
}

// True when every tree entry is in place: links share the store blob's inode, link files hold their digest.
Result<bool> tree_in_place(system::System& sys, const std::vector<system::TreeEntry>& entries)
{
    for (const system::TreeEntry& e : entries) {
        std::string path = fmt::format("{}/{}", k_registry_root, e.path);
        auto have = sys.stat(path);
        if (!have) return fail(have.error());
        if (have->kind != system::FileKind::regular) return false;
        if (!e.link_from.empty()) {
            auto want = sys.stat(e.link_from);
            if (!want) return fail(want.error());
            if (want->kind != system::FileKind::regular || have->dev != want->dev || have->ino != want->ino) return false;
        } else if (have->size != e.content.size() || sys.read_file(path, e.content.size() + 1).value_or("") != e.content) {
            return false;
        }
    }
    return true;
}

std::string ready_url(const Context& ctx)
{
    auto endpoints = mirror_endpoints(ctx.options.registry_listen, {});
    return (endpoints ? endpoints->front() : std::string("http://127.0.0.1:5000")) + "/v2/";
}

bool answers(const Context& ctx)
{
    auto status = system::http_status(ready_url(ctx), 2s);
    return status && *status == 200;
}

class RegistryPhase : public Phase {
public:
    using Phase::Phase;

    Result<bool> satisfied(Context& ctx) const override
    {
        if (ctx.index.images.empty()) return true;
        auto entries = registry_tree(ctx.index.images, node::NodePaths::k_store);
        if (!entries) return fail(entries.error());
        auto tree = tree_in_place(ctx.sys, *entries);
        if (!tree || !*tree) return tree;
        auto files = config_files(ctx);
        if (!files) return fail(files.error());
        std::vector<std::pair<std::string, std::string>> all = *files;
        all.emplace_back(system::unit_path(k_registry_service), system::render_unit(registry_service()));
        for (const auto& [path, content] : all) {
            auto ok = file_holds(ctx.sys, path, content);
            if (!ok || !*ok) return ok;
        }
        auto active = ctx.sys.service_active(k_registry_service);
        if (!active || !*active) return active;
        return answers(ctx);
    }

    Result<void> apply(Context& ctx) override
    {
        if (ctx.index.images.empty()) {
            ctx.log.info("  no images in this bundle: nothing to serve");
            return {};
        }
        auto binary = ctx.sys.stat(k_registry_binary);
        if (!binary) return fail(binary.error());
        if (binary->kind != system::FileKind::regular || (binary->mode & 0111) == 0)
            return fail(Errc::failed_precondition,
                        "{} is not installed: a bundle with images carries the registry binary there (the binaries phase "
                        "installs it; run it first)",
                        k_registry_binary);
        // 1. The storage tree: hard links to the store (never a copy), and the small link files.
        auto entries = registry_tree(ctx.index.images, node::NodePaths::k_store);
        if (!entries) return fail(entries.error());
        auto seed_start = std::chrono::steady_clock::now();
        auto changed = ctx.sys.seed_tree(k_registry_root, *entries);
        if (!changed) return fail(changed.error());
        std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - seed_start;
        std::uint64_t linked = 0;
        std::size_t links = 0;
        for (const system::TreeEntry& e : *entries) {
            if (e.link_from.empty()) continue;
            auto blob = ctx.sys.stat(e.link_from);
            if (blob) linked += blob->size;
            ++links;
        }
        ctx.log.info("  {} images: {} entries in {} ({} changed), {} blobs ({}) hard-linked from the store in {:.0f} ms",
                     ctx.index.images.size(), entries->size(), k_registry_root, *changed, links, common::human_bytes(linked),
                     took.count());
        common::failpoint("registry.seeded");
        // 2. Config, unit, and the mirror configuration of k3s and containerd.
        auto files = config_files(ctx);
        if (!files) return fail(files.error());
        bool config_changed = false;
        for (const auto& [path, content] : *files) {
            auto holds = file_holds(ctx.sys, path, content);
            if (!holds) return fail(holds.error());
            if (*holds) continue;
            TRY_VOID(ctx.sys.write_file(path, content, {0644, {}, {}}));
            config_changed |= path == k_registry_config;
        }
        TRY_VOID(ctx.sys.install_service(registry_service()));
        // 3. Running, with the config it was given; ready once /v2/ answers.
        auto active = ctx.sys.service_active(k_registry_service);
        if (!active) return fail(active.error());
        if (*active && config_changed) TRY_VOID(ctx.sys.stop_service(k_registry_service));
        if (!*active && system::http_status(ready_url(ctx), 2s)) // any answer at all: not ours, which is not running
            return fail(Errc::failed_precondition,
                        "another program already answers at {}: stop it, or give this node's registry another address "
                        "with --registry-listen",
                        ready_url(ctx));
        TRY_VOID(ctx.sys.start_service(k_registry_service));
        auto deadline = std::chrono::steady_clock::now() + k_ready_timeout;
        while (!answers(ctx)) {
            // A registry that exits (its address taken, a bad config) is reported at once, not after the timeout.
            auto running = ctx.sys.service_active(k_registry_service);
            if (!running) return fail(running.error());
            if (!*running)
                return fail(Errc::failed_precondition, "the registry exited before it answered at {}; its log: {}", ready_url(ctx),
                            ctx.sys.service_log(k_registry_service));
            if (std::chrono::steady_clock::now() > deadline)
                return fail(Errc::failed_precondition, "the registry did not answer at {} within {} s; its log: {}", ready_url(ctx),
                            k_ready_timeout.count(), ctx.sys.service_log(k_registry_service));
            std::this_thread::sleep_for(100ms);
        }
        ctx.log.info("  serving at {}", ready_url(ctx));
        return {};
    }
};

} // namespace

std::unique_ptr<Phase> make_registry_phase(const common::bundle::PhaseInfo& info) { return std::make_unique<RegistryPhase>(info); }

} // namespace installer::phases
