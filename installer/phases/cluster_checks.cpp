// SPDX-License-Identifier: Apache-2.0
#include <installer/phases/cluster_checks.hpp>

#include <installer/phases/registry_layout.hpp>
#include <installer/system/http_probe.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <ctime>

namespace installer::phases {

namespace {

using namespace std::chrono_literals;

CheckResult check(std::string id, bool ok, std::string observed, std::string required, std::string fix)
{
    return {std::move(id), ok, false, std::move(observed), std::move(required), std::move(fix)};
}

bool exists(Context& ctx, std::string_view path)
{
    auto st = ctx.sys.stat(path);
    return st && st->kind != system::FileKind::missing;
}

std::string first_line(std::string text)
{
    text = text.substr(0, text.find('\n'));
    while (!text.empty() && (text.back() == ' ' || text.back() == '\r')) text.pop_back();
    return text;
}

bool runs_k3s(const Context& ctx)
{
    const common::bundle::RolePlan* plan = ctx.index.role(ctx.role);
    return plan && std::find(plan->phases.begin(), plan->phases.end(), "k3s") != plan->phases.end();
}

} // namespace

const std::vector<std::string>& cluster_check_ids()
{
    static const std::vector<std::string> ids{"gpu-driver", "runtimes", "swap", "hostname", "address", "registration", "join-order", "clock"};
    return ids;
}

std::optional<std::int64_t> parse_http_date(std::string_view text)
{
    std::tm tm{};
    std::string s(text);
    const char* end = ::strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end || *end != '\0') return std::nullopt;
    return static_cast<std::int64_t>(::timegm(&tm));
}

std::vector<CheckResult> cluster_checks(Context& ctx)
{
    std::vector<CheckResult> out;
    if (!ctx.inventory || !ctx.self) return out;
    const cluster::Inventory& inv = *ctx.inventory;
    const cluster::Node& self = *ctx.self;

    if (self.has_gpu) {
        auto version = ctx.sys.read_file("/proc/driver/nvidia/version", 4096);
        bool smi = exists(ctx, "/usr/bin/nvidia-smi");
        std::string seen = version ? first_line(*version) : smi ? "nvidia-smi is installed" : "no NVIDIA driver (/proc/driver/nvidia/version, nvidia-smi)";
        out.push_back(check("gpu-driver", version.has_value() || smi, seen, "an NVIDIA driver loaded (has_gpu: true)",
                            "install the NVIDIA driver first, as the run-books do (seed 004: `nvidia-smi` must succeed on the node; seed 002: "
                            "a node with a driver already needs no driver install): the vendor's .run or the distribution's driver "
                            "packages, reboot, check `nvidia-smi`; or set has_gpu: false for this node in cluster.yaml"));
    }
    if (runs_k3s(ctx)) {
        std::vector<std::string> found;
        for (std::string_view sock : {"/run/docker.sock", "/var/run/docker.sock"})
            if (exists(ctx, sock)) found.push_back(fmt::format("docker ({})", sock));
        if (exists(ctx, "/run/containerd/containerd.sock")) found.push_back("a containerd of its own (/run/containerd/containerd.sock)");
        if (exists(ctx, "/etc/kubernetes/kubelet.conf")) found.push_back("a kubeadm kubelet (/etc/kubernetes/kubelet.conf)");
        found.erase(std::unique(found.begin(), found.end()), found.end());
        out.push_back(check("runtimes", found.empty(), found.empty() ? "none" : fmt::format("{}", fmt::join(found, ", ")),
                            "no other container runtime or kubelet running",
                            "k3s runs its own containerd and kubelet: stop and disable the others (systemctl disable --now docker "
                            "containerd kubelet), or use a clean node"));
        auto swaps = ctx.sys.read_file("/proc/swaps", 1 << 16);
        std::size_t lines = swaps ? static_cast<std::size_t>(std::count(swaps->begin(), swaps->end(), '\n')) : 0;
        out.push_back(check("swap", lines <= 1, lines <= 1 ? "off" : fmt::format("{} swap areas on", lines - 1), "swap off",
                            "the kubelet refuses to start with swap on: swapoff -a, and remove the swap line from /etc/fstab (seed 001)"));
    }

    const std::string& name = ctx.hostname;
    const cluster::Node* other = nullptr;
    for (const cluster::Node& n : inv.nodes)
        if (n.name == name && n.name != self.name) other = &n;
    out.push_back(check("hostname", !other, name.empty() ? "(none)" : name, "not another node's name in cluster.yaml",
                        other ? fmt::format("this machine is named {}, which is node {}'s name ({} line {}): run with --node {} only on "
                                            "that node's machine, or rename this one (hostnamectl set-hostname {})",
                                            name, other->name, inv.path, other->line, self.name, self.name)
                              : std::string()));
    auto held = cluster::held_addresses();
    bool holds = std::any_of(held.begin(), held.end(), [&](const cluster::Address& a) { return a.same_host(self.address); });
    out.push_back(check("address", holds, holds ? self.address.text : fmt::format("{} is not on this machine", self.address.text),
                        fmt::format("this machine holds {} (node {})", self.address.text, self.name),
                        fmt::format("configure {} on this node's private interface, or fix node {}'s address in {} (line {})",
                                    self.address.text, self.name, inv.path, self.line)));

    if (self.name == inv.first_master().name) return out;
    auto reg = system::tcp_connect(inv.registration.text, inv.api_port(), 3s);
    out.push_back(check("registration", reg.has_value(),
                        reg ? fmt::format("{}:{} answers", inv.registration.url_host(), inv.api_port()) : reg.error().message,
                        fmt::format("the registration address {}:{} answers", inv.registration.url_host(), inv.api_port()),
                        fmt::format("install the first master ({}, {}) first{}; check this node reaches it (ip route, firewall)",
                                    inv.first_master().name, inv.first_master().address.text,
                                    inv.builtin_balancer() ? ", and that one master holds the VIP (ip addr; its platform-keepalived log)" : "")));
    if (self.role == cluster::Role::master) {
        const cluster::Node* previous = nullptr;
        for (const cluster::Node* m : inv.masters()) {
            if (m->name == self.name) break;
            previous = m;
        }
        if (previous) {
            auto up = system::tcp_connect(previous->address.text, cluster::Inventory::k_api_port, 3s);
            out.push_back(check("join-order", up.has_value(),
                                up ? fmt::format("master {} answers on {}", previous->name, cluster::Inventory::k_api_port) : up.error().message,
                                fmt::format("the master before this one ({}) runs k3s", previous->name),
                                fmt::format("masters join one at a time, in cluster.yaml's order: install {} ({}) first and wait until it "
                                            "is Ready",
                                            previous->name, previous->address.text)));
        }
    }
    if (ctx.index.images.empty()) return out; // no registry on the first master to take the time from
    std::string url = peer_registry_url(inv.first_master().address.url_host(), ctx.options.registry_listen) + "/v2/";
    auto head = system::http_head(url, 3s);
    std::optional<std::int64_t> theirs;
    if (head)
        if (auto d = head->headers.find("date"); d != head->headers.end()) theirs = parse_http_date(d->second);
    std::int64_t ours = std::time(nullptr);
    std::int64_t drift = theirs ? ours - *theirs : 0;
    out.push_back(check("clock", theirs && std::abs(drift) <= k_max_clock_drift.count(),
                        theirs ? fmt::format("{:+} s from the first master's clock", drift)
                               : fmt::format("no Date from the first master's registry at {}{}", url, head ? "" : ": " + head.error().message),
                        fmt::format("within {} s of the first master's clock", k_max_clock_drift.count()),
                        fmt::format("set this node's time from the first master's (date -s \"$(ssh {} date -u)\", or point chrony at it) "
                                    "and keep it synced: certificates and etcd need the nodes' clocks together",
                                    inv.first_master().address.text)));
    return out;
}

} // namespace installer::phases
