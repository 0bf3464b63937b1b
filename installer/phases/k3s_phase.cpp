// SPDX-License-Identifier: Apache-2.0
#include <installer/phases/k3s_phase.hpp>

#include <installer/cluster/k3s_config.hpp>
#include <installer/system/http_probe.hpp>

#include <common/util/failpoint.hpp>

#include <sys/random.h>
#include <thread>

namespace installer::phases {

namespace {

using common::Errc;
using common::fail;

constexpr std::string_view k_config = "/etc/rancher/k3s/config.yaml";
constexpr std::string_view k_install_script = "k3s-install.sh";
constexpr std::string_view k_kubelet_health = "http://127.0.0.1:10248/healthz";

Result<const common::bundle::FileEntry*> install_script(const Context& ctx)
{
    for (const auto& f : ctx.index.files)
        if (f.name == k_install_script && f.for_role(ctx.role)) return &f;
    return fail(Errc::failed_precondition, "phase k3s: the bundle has no file named {} for role {} (the pinned upstream install.sh)",
                k_install_script, ctx.role);
}

Result<const cluster::Node*> self_of(const Context& ctx)
{
    if (!ctx.inventory || !ctx.self)
        return fail(Errc::invalid_argument, "phase k3s needs the cluster's inventory: give --config cluster.yaml (docs/formats.md)");
    return ctx.self;
}

// The cluster token: 32 random bytes as hex, made once on the first master; never printed or logged.
Result<void> ensure_token(Context& ctx, const cluster::Node& self)
{
    const std::string& path = ctx.inventory->token_file;
    auto info = ctx.sys.stat(path);
    if (!info) return fail(info.error());
    if (info->kind == system::FileKind::regular && info->size > 0) return {};
    if (self.name != ctx.inventory->first_master().name)
        return fail(Errc::failed_precondition,
                    "no cluster token at {}: copy it from the first master ({}, {}) to this node, mode 0600, then run again", path,
                    ctx.inventory->first_master().name, ctx.inventory->first_master().address.text);
    unsigned char raw[32];
    if (::getrandom(raw, sizeof(raw), 0) != static_cast<ssize_t>(sizeof(raw))) return common::fail_errno("getrandom", errno);
    std::string token;
    for (unsigned char c : raw) token += fmt::format("{:02x}", c);
    TRY_VOID(ctx.sys.write_file(path, token + "\n", {0600, {}, {}}));
    ctx.log.info("  made the cluster token {} (0600; copy it to the other nodes)", path);
    return {};
}

// Whether the node is up: a master asks the API server through `k3s kubectl` (its admin kubeconfig) for
// the node's Ready condition; an agent has no credentials of its own, so it asks its kubelet's health
// endpoint (http://127.0.0.1:10248/healthz, which answers once the kubelet has registered and runs).
Result<bool> node_ready(Context& ctx, const cluster::Node& self)
{
    if (self.role != cluster::Role::master) {
        auto status = system::http_status(k_kubelet_health, std::chrono::seconds(2));
        return status && *status == 200;
    }
    auto r = ctx.sys.run({{"k3s", "kubectl", "get", "node", self.name, "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}"},
                          {},
                          std::chrono::seconds(30),
                          system::InRoot::yes});
    if (!r) return fail(r.error());
    return r->exit_code == 0 && r->output.find("True") != std::string::npos;
}

class K3sPhase : public Phase {
public:
    using Phase::Phase;

    Result<bool> satisfied(Context& ctx) const override
    {
        auto self = self_of(ctx);
        if (!self) return fail(self.error());
        auto token = ctx.sys.stat(ctx.inventory->token_file);
        if (!token) return fail(token.error());
        if (token->kind != system::FileKind::regular) return false;
        auto config = file_holds(ctx.sys, k_config, cluster::k3s_config_yaml(*ctx.inventory, **self));
        if (!config || !*config) return config;
        auto k3s = ctx.sys.stat("/usr/local/bin/k3s");
        if (!k3s) return fail(k3s.error());
        if (k3s->kind == system::FileKind::missing) return false;
        return node_ready(ctx, **self);
    }

    Result<void> apply(Context& ctx) override
    {
        auto self = self_of(ctx);
        if (!self) return fail(self.error());
        auto script = install_script(ctx);
        if (!script) return fail(script.error());
        TRY_VOID(ensure_token(ctx, **self));
        std::string config = cluster::k3s_config_yaml(*ctx.inventory, **self);
        auto same = file_holds(ctx.sys, k_config, config);
        if (!same) return fail(same.error());
        if (!*same) TRY_VOID(ctx.sys.write_file(k_config, config, {0600, {}, {}}));
        ctx.log.info("  {} for {} ({})", k_config, (*self)->name, cluster::k3s_exec(**self));

        std::string exec = cluster::k3s_exec(**self);
        // install.sh leaves its own uninstaller (k3s-uninstall.sh on servers, k3s-agent-uninstall.sh on
        // agents): reset runs it, which stops k3s and removes what install.sh made.
        TRY_VOID(ctx.sys.journal_uninstall(exec == "server" ? "/usr/local/bin/k3s-uninstall.sh" : "/usr/local/bin/k3s-agent-uninstall.sh"));
        ctx.log.info("  {} with INSTALL_K3S_SKIP_DOWNLOAD=true INSTALL_K3S_EXEC={}", (*script)->install, exec);
        auto r = ctx.sys.run({{"sh", (*script)->install},
                              {{"INSTALL_K3S_SKIP_DOWNLOAD", "true"}, {"INSTALL_K3S_EXEC", exec}, {"INSTALL_K3S_SKIP_SELINUX_RPM", "true"}},
                              std::chrono::seconds(600),
                              system::InRoot::yes});
        if (!r) return fail(r.error().wrap("k3s install.sh"));
        if (r->exit_code != 0) {
            return fail(Errc::failed_precondition, "k3s install.sh failed (exit {}):\n{}", r->exit_code, r->tail(3000));
        }
        common::failpoint("k3s.installed");

        int timeout = ctx.options.k3s_ready_timeout_s;
        ctx.log.info("  waiting up to {} s for node {} to be Ready", timeout, (*self)->name);
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout);
        for (;;) {
            auto ready = node_ready(ctx, **self);
            if (!ready) return fail(ready.error());
            if (*ready) break;
            if (std::chrono::steady_clock::now() >= deadline)
                return fail(Errc::failed_precondition,
                            "node {} is not Ready after {} s (--k3s-ready-timeout): read k3s's log (journalctl -u {} on a systemd node, "
                            "else /var/log/k3s.log){}",
                            (*self)->name, timeout, exec == "server" ? "k3s" : "k3s-agent",
                            exec == "server" ? fmt::format(" and `k3s kubectl describe node {}`", (*self)->name)
                                             : fmt::format(" (its kubelet does not answer {})", k_kubelet_health));
            std::this_thread::sleep_for(std::chrono::seconds(1));
        }
        ctx.log.info("  node {} is Ready", (*self)->name);
        return {};
    }
};

} // namespace

std::unique_ptr<Phase> make_k3s_phase(const common::bundle::PhaseInfo& info) { return std::make_unique<K3sPhase>(info); }

} // namespace installer::phases
