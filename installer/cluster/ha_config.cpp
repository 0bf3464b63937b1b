// SPDX-License-Identifier: Apache-2.0
#include <installer/cluster/ha_config.hpp>

#include <sys/socket.h>

namespace installer::cluster {

int vrrp_priority(const Inventory& inv, const Node& self)
{
    int priority = 150;
    for (const Node* m : inv.masters()) {
        if (m->name == self.name) return priority;
        priority -= 10;
    }
    return priority;
}

std::string keepalived_conf(const Inventory& inv, const Node& self, const std::string& iface)
{
    std::string out = fmt::format("# Written by platform-installer from {} (cluster {}, node {}): the VIP {} of the k3s API.\n",
                                  inv.path, inv.name, self.name, inv.vip->text);
    out += fmt::format("global_defs {{\n    router_id {}\n    enable_script_security\n}}\n\n", self.name);
    out += fmt::format("vrrp_instance {}_api {{\n", inv.name);
    out += "    state BACKUP\n";
    out += fmt::format("    interface {}\n", iface);
    out += fmt::format("    virtual_router_id {}\n", inv.virtual_router_id);
    out += fmt::format("    priority {}\n", vrrp_priority(inv, self));
    out += "    advert_int 1\n";
    out += fmt::format("    unicast_src_ip {}\n", self.address.text);
    out += "    unicast_peer {\n";
    for (const Node* m : inv.masters())
        if (m->name != self.name) out += fmt::format("        {}\n", m->address.text);
    out += "    }\n";
    int prefix = 0;
    for (const Node* m : inv.masters())
        if (m->address.subnet_holds(*inv.vip)) prefix = m->address.prefix;
    out += fmt::format("    virtual_ipaddress {{\n        {}/{} dev {}\n    }}\n}}\n", inv.vip->text, prefix, iface);
    return out;
}

std::string haproxy_cfg(const Inventory& inv, const Node& self)
{
    std::string out = fmt::format("# Written by platform-installer from {} (cluster {}, node {}): the k3s API behind the VIP {}.\n",
                                  inv.path, inv.name, self.name, inv.vip->text);
    out += "global\n    maxconn 4096\n\n";
    out += "defaults\n    mode tcp\n    timeout connect 5s\n    timeout client 1h\n    timeout server 1h\n\n";
    std::string bind = inv.vip->family == AF_INET6 ? fmt::format(":::{} v4v6", Inventory::k_balancer_port)
                                                    : fmt::format(":{}", Inventory::k_balancer_port);
    out += fmt::format("frontend k3s-api\n    bind {}\n    default_backend k3s-api\n\n", bind);
    out += "backend k3s-api\n    balance roundrobin\n    option tcp-check\n    default-server inter 2s fall 2 rise 2\n";
    for (const Node* m : inv.masters())
        out += fmt::format("    server {} {}:{} check\n", m->name, m->address.url_host(), Inventory::k_api_port);
    return out;
}

} // namespace installer::cluster
