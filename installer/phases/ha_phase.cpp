// SPDX-License-Identifier: Apache-2.0
#include <installer/phases/ha_phase.hpp>

#include <installer/cluster/ha_config.hpp>
#include <installer/system/http_probe.hpp>
#include <installer/system/service_unit.hpp>

#include <common/util/failpoint.hpp>

#include <thread>

namespace installer::phases {

namespace {

using common::Errc;
using common::fail;
using namespace std::chrono_literals;

constexpr std::string_view k_keepalived = "/usr/sbin/keepalived";
constexpr std::string_view k_haproxy = "/usr/sbin/haproxy";
constexpr std::string_view k_keepalived_conf = "/etc/platform-installer/keepalived.conf";
constexpr std::string_view k_haproxy_cfg = "/etc/platform-installer/haproxy.cfg";
constexpr std::string_view k_keepalived_service = "platform-keepalived";
constexpr std::string_view k_haproxy_service = "platform-haproxy";
constexpr auto k_ready_timeout = 15s;

bool wanted(const Context& ctx)
{
    return ctx.inventory && ctx.self && ctx.self->role == cluster::Role::master && ctx.inventory->builtin_balancer();
}

Result<std::string> interface_of(const Context& ctx)
{
    if (!ctx.self->interface.empty()) return ctx.self->interface;
    std::string dev = cluster::device_holding(ctx.self->address);
    if (dev.empty())
        return fail(Errc::failed_precondition,
                    "node {} does not hold its address {} on any interface here, so keepalived cannot know where to add the VIP: "
                    "set interface for it (or cluster.interface) in {}",
                    ctx.self->name, ctx.self->address.text, ctx.inventory->path);
    return dev;
}

system::ServiceSpec keepalived_service()
{
    return {std::string(k_keepalived_service),
            "platform-installer: keepalived holding the cluster's VIP",
            {std::string(k_keepalived), "--dont-fork", "--log-console", "--vrrp", "--use-file", std::string(k_keepalived_conf), "--pid",
             "/run/platform-keepalived.pid", "--vrrp_pid", "/run/platform-keepalived-vrrp.pid"},
            {}};
}

system::ServiceSpec haproxy_service()
{
    return {std::string(k_haproxy_service),
            "platform-installer: haproxy, the k3s API servers behind the VIP",
            {std::string(k_haproxy), "-db", "-f", std::string(k_haproxy_cfg)},
            {}};
}

Result<std::vector<std::pair<std::string, std::string>>> config_files(const Context& ctx)
{
    auto iface = interface_of(ctx);
    if (!iface) return fail(iface.error());
    return std::vector<std::pair<std::string, std::string>>{
        {std::string(k_keepalived_conf), cluster::keepalived_conf(*ctx.inventory, *ctx.self, *iface)},
        {std::string(k_haproxy_cfg), cluster::haproxy_cfg(*ctx.inventory, *ctx.self)},
        {system::unit_path(k_keepalived_service), system::render_unit(keepalived_service())},
        {system::unit_path(k_haproxy_service), system::render_unit(haproxy_service())},
    };
}

bool balancer_answers()
{
    return system::tcp_connect("127.0.0.1", cluster::Inventory::k_balancer_port, 1s).has_value();
}

class HaPhase : public Phase {
public:
    using Phase::Phase;

    Result<bool> satisfied(Context& ctx) const override
    {
        if (!wanted(ctx)) return true;
        auto files = config_files(ctx);
        if (!files) return fail(files.error());
        for (const auto& [path, content] : *files) {
            auto ok = file_holds(ctx.sys, path, content);
            if (!ok || !*ok) return ok;
        }
        for (std::string_view s : {k_keepalived_service, k_haproxy_service}) {
            auto active = ctx.sys.service_active(s);
            if (!active || !*active) return active;
        }
        return balancer_answers();
    }

    Result<void> apply(Context& ctx) override
    {
        if (!wanted(ctx)) {
            ctx.log.info("  nothing to do here: {}", !ctx.inventory || !ctx.inventory->vip ? "cluster.yaml names no VIP"
                                                     : ctx.self->role != cluster::Role::master
                                                         ? "workers reach the VIP, masters hold it"
                                                         : "the registration address is a load balancer of the operator's");
            return {};
        }
        for (std::string_view binary : {k_keepalived, k_haproxy}) {
            auto st = ctx.sys.stat(binary);
            if (!st) return fail(st.error());
            if (st->kind != system::FileKind::regular)
                return fail(Errc::failed_precondition,
                            "{} is not installed: a cluster with a VIP needs the keepalived and haproxy packages on its masters "
                            "(a component's debs, for role master; the apt phase installs them first)",
                            binary);
        }
        auto files = config_files(ctx);
        if (!files) return fail(files.error());
        bool changed = false;
        for (const auto& [path, content] : *files) {
            if (path.starts_with("/etc/systemd/")) continue; // install_service writes the units
            auto holds = file_holds(ctx.sys, path, content);
            if (!holds) return fail(holds.error());
            if (*holds) continue;
            TRY_VOID(ctx.sys.write_file(path, content, {0644, {}, {}}));
            changed = true;
        }
        for (const system::ServiceSpec& spec : {haproxy_service(), keepalived_service()}) {
            TRY_VOID(ctx.sys.install_service(spec));
            auto active = ctx.sys.service_active(spec.name);
            if (!active) return fail(active.error());
            if (*active && changed) TRY_VOID(ctx.sys.stop_service(spec.name)); // a new master list: start again with it
            TRY_VOID(ctx.sys.start_service(spec.name));
        }
        common::failpoint("ha.started");
        auto deadline = std::chrono::steady_clock::now() + k_ready_timeout;
        for (;;) {
            for (std::string_view s : {k_haproxy_service, k_keepalived_service}) {
                auto running = ctx.sys.service_active(s);
                if (!running) return fail(running.error());
                if (!*running)
                    return fail(Errc::failed_precondition, "{} exited at start; its log: {}", s, ctx.sys.service_log(s));
            }
            if (balancer_answers()) break;
            if (std::chrono::steady_clock::now() > deadline)
                return fail(Errc::failed_precondition, "haproxy does not answer on port {} after {} s; its log: {}",
                            cluster::Inventory::k_balancer_port, k_ready_timeout.count(), ctx.sys.service_log(k_haproxy_service));
            std::this_thread::sleep_for(200ms);
        }
        ctx.log.info("  keepalived (VRRP id {}, priority {}) and haproxy on port {} for the VIP {}", ctx.inventory->virtual_router_id,
                     cluster::vrrp_priority(*ctx.inventory, *ctx.self), cluster::Inventory::k_balancer_port, ctx.inventory->vip->text);
        return {};
    }
};

} // namespace

std::unique_ptr<Phase> make_ha_phase(const common::bundle::PhaseInfo& info) { return std::make_unique<HaPhase>(info); }

} // namespace installer::phases
