// SPDX-License-Identifier: Apache-2.0
#include <installer/cluster/inventory.hpp>

#include <common/manifest/yaml_reader.hpp>

#include <algorithm>
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <charconv>
#include <cstring>
#include <set>

namespace installer::cluster {

using common::Errc;
using common::fail;
using common::manifest::YamlReader;

Result<Address> Address::parse(std::string_view s)
{
    Address a;
    std::string_view host = s;
    std::optional<int> prefix;
    if (std::size_t slash = s.find('/'); slash != std::string_view::npos) {
        host = s.substr(0, slash);
        std::string_view p = s.substr(slash + 1);
        int n = -1;
        auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), n);
        if (p.empty() || ec != std::errc{} || end != p.data() + p.size())
            return fail(Errc::invalid_argument, "'{}': the prefix length after '/' is not a number", s);
        prefix = n;
    }
    std::string h(host);
    if (::inet_pton(AF_INET, h.c_str(), a.bytes) == 1) {
        a.family = AF_INET;
    } else if (::inet_pton(AF_INET6, h.c_str(), a.bytes) == 1) {
        a.family = AF_INET6;
    } else {
        return fail(Errc::invalid_argument, "'{}' is not an IPv4 or IPv6 address (nodes are addressed by IP, never by name)", s);
    }
    int max = a.family == AF_INET ? 32 : 128;
    if (prefix && (*prefix < 1 || *prefix > max))
        return fail(Errc::invalid_argument, "'{}': a prefix length must be 1 to {}", s, max);
    a.prefix = prefix.value_or(max);
    a.text = h;
    return a;
}

bool Address::subnet_holds(const Address& other) const
{
    if (family != other.family) return false;
    int whole = prefix / 8, rest = prefix % 8;
    if (std::memcmp(bytes, other.bytes, static_cast<std::size_t>(whole)) != 0) return false;
    if (rest == 0) return true;
    auto mask = static_cast<std::uint8_t>(0xFF << (8 - rest));
    return (bytes[whole] & mask) == (other.bytes[whole] & mask);
}

bool Address::same_host(const Address& other) const
{
    return family == other.family && std::memcmp(bytes, other.bytes, family == AF_INET ? 4 : 16) == 0;
}

std::string Address::url_host() const { return family == AF_INET6 ? "[" + text + "]" : text; }

std::string_view to_string(Role role) { return role == Role::master ? "master" : "worker"; }

namespace {

// A label key or value as Kubernetes takes them: key [prefix/]name, value up to 63 of [A-Za-z0-9._-].
bool label_part(std::string_view s, std::size_t max, bool allow_empty)
{
    if (s.empty()) return allow_empty;
    if (s.size() > max || !std::isalnum(static_cast<unsigned char>(s.front())) || !std::isalnum(static_cast<unsigned char>(s.back())))
        return false;
    return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'; });
}

bool label_key(std::string_view k)
{
    std::size_t slash = k.rfind('/');
    if (slash == std::string_view::npos) return label_part(k, 63, false);
    return label_part(k.substr(0, slash), 253, false) && label_part(k.substr(slash + 1), 63, false);
}

// A taint as kubectl writes it: key[=value]:NoSchedule|PreferNoSchedule|NoExecute.
bool taint_ok(std::string_view t)
{
    std::size_t colon = t.rfind(':');
    if (colon == std::string_view::npos) return false;
    std::string_view effect = t.substr(colon + 1), kv = t.substr(0, colon);
    if (effect != "NoSchedule" && effect != "PreferNoSchedule" && effect != "NoExecute") return false;
    std::size_t eq = kv.find('=');
    if (eq == std::string_view::npos) return label_key(kv);
    return label_key(kv.substr(0, eq)) && label_part(kv.substr(eq + 1), 63, true);
}

// A node name as k3s registers it (a DNS-1123 subdomain: lower case, digits, '-' and '.').
bool node_name_ok(std::string_view n)
{
    if (n.empty() || n.size() > 253 || !std::isalnum(static_cast<unsigned char>(n.front())) ||
        !std::isalnum(static_cast<unsigned char>(n.back())))
        return false;
    return std::all_of(n.begin(), n.end(), [](char c) { return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '.'; });
}

Result<bool> boolean_or(const YamlReader& y, const YAML::Node& map, std::string_view key, std::string_view where, bool fallback)
{
    YAML::Node v = map[std::string(key)];
    if (!v) return fallback;
    std::string s = v.IsScalar() ? v.as<std::string>() : "";
    if (s == "true" || s == "yes") return true;
    if (s == "false" || s == "no") return false;
    return fail(y.error(v, fmt::format("{}.{}", where, key), "expected true or false"));
}

Result<Address> address_at(const YamlReader& y, const YAML::Node& map, std::string_view key, std::string_view where)
{
    auto text = y.string(map, key, where);
    if (!text) return fail(text.error());
    auto a = Address::parse(*text);
    if (!a) return fail(y.error(map[std::string(key)], fmt::format("{}.{}", where, key), a.error().message));
    return a;
}

Result<Node> parse_node(const YamlReader& y, const YAML::Node& n, std::size_t i, const std::string& default_iface)
{
    std::string where = fmt::format("nodes[{}]", i);
    TRY_VOID(y.only_keys(n, where, {"name", "address", "role", "has_gpu", "interface", "labels", "taints"}));
    Node node;
    node.line = static_cast<std::size_t>(n.Mark().line + 1);
    auto name = y.string(n, "name", where);
    if (!name) return fail(name.error());
    if (!node_name_ok(*name))
        return fail(y.error(n["name"], where + ".name",
                            fmt::format("'{}' is not a node name (lower-case letters, digits, '-' and '.', as k3s registers it)", *name)));
    node.name = *name;
    where = fmt::format("nodes[{}] ({})", i, node.name);
    auto address = address_at(y, n, "address", where);
    if (!address) return fail(address.error());
    node.address = *address;
    auto role = y.string(n, "role", where);
    if (!role) return fail(role.error());
    if (*role == "master" || *role == "server") node.role = Role::master;
    else if (*role == "worker" || *role == "agent" || *role == "node") node.role = Role::worker;
    else return fail(y.error(n["role"], where + ".role", fmt::format("'{}' is neither master nor worker", *role)));
    auto gpu = boolean_or(y, n, "has_gpu", where, false);
    if (!gpu) return fail(gpu.error());
    node.has_gpu = *gpu;
    auto iface = y.string_or(n, "interface", where, default_iface);
    if (!iface) return fail(iface.error());
    node.interface = *iface;
    if (YAML::Node labels = n["labels"]) {
        if (!labels.IsMap()) return fail(y.error(labels, where + ".labels", "expected a mapping of label: value"));
        for (const auto& kv : labels) {
            std::string k = kv.first.as<std::string>(""), v = kv.second.IsScalar() ? kv.second.as<std::string>() : "";
            if (!label_key(k)) return fail(y.error(kv.first, where + ".labels", fmt::format("'{}' is not a label key", k)));
            if (!kv.second.IsScalar() || !label_part(v, 63, true))
                return fail(y.error(kv.second, fmt::format("{}.labels.{}", where, k), fmt::format("'{}' is not a label value (63 characters of letters, digits, '-', '_', '.')", v)));
            node.labels[k] = v;
        }
    }
    auto taints = y.strings_or_empty(n, "taints", where);
    if (!taints) return fail(taints.error());
    for (const std::string& t : *taints)
        if (!taint_ok(t))
            return fail(y.error(n["taints"], where + ".taints", fmt::format("'{}' is not a taint (key[=value]:NoSchedule|PreferNoSchedule|NoExecute)", t)));
    node.taints = *taints;
    return node;
}

Result<Inventory> from_reader(const YamlReader& y)
{
    const YAML::Node& root = y.root();
    TRY_VOID(y.only_keys(root, "", {"cluster", "nodes"}));
    YAML::Node c = root["cluster"];
    if (!c) return fail(y.error(root, "cluster", "missing"));
    TRY_VOID(y.only_keys(c, "cluster", {"name", "registration", "vip", "interface", "token_file", "virtual_router_id"}));
    Inventory inv;
    inv.path = y.path();
    auto name = y.string(c, "name", "cluster");
    if (!name) return fail(name.error());
    if (!node_name_ok(*name)) return fail(y.error(c["name"], "cluster.name", fmt::format("'{}': use lower-case letters, digits, '-' and '.'", *name)));
    inv.name = *name;
    auto iface = y.string_or(c, "interface", "cluster", "");
    if (!iface) return fail(iface.error());
    inv.interface = *iface;
    auto token = y.string_or(c, "token_file", "cluster", "/etc/platform-installer/cluster-token");
    if (!token) return fail(token.error());
    if (!token->starts_with('/')) return fail(y.error(c["token_file"], "cluster.token_file", "must be an absolute path"));
    inv.token_file = *token;
    auto vrid = y.number_or(c, "virtual_router_id", "cluster", 0);
    if (!vrid) return fail(vrid.error());
    if (*vrid != 0 && (*vrid < 1 || *vrid > 255 || *vrid != static_cast<int>(*vrid)))
        return fail(y.error(c["virtual_router_id"], "cluster.virtual_router_id", "must be a whole number from 1 to 255 (VRRP)"));
    if (*vrid != 0) {
        inv.virtual_router_id = static_cast<int>(*vrid);
    } else { // the same on every master, and unlikely to be another cluster's on the same network
        unsigned h = 2166136261u;
        for (char ch : inv.name) h = (h ^ static_cast<unsigned char>(ch)) * 16777619u;
        inv.virtual_router_id = static_cast<int>(h % 254) + 1;
    }
    if (c["vip"]) {
        auto vip = address_at(y, c, "vip", "cluster");
        if (!vip) return fail(vip.error());
        inv.vip = *vip;
    }

    auto nodes = y.list(root, "nodes", "");
    if (!nodes) return fail(nodes.error());
    if (nodes->empty()) return fail(y.error(root, "nodes", "no nodes: list at least one master"));
    std::map<std::string, std::size_t> names;
    std::vector<std::pair<Address, std::string>> addresses;
    for (std::size_t i = 0; i < nodes->size(); ++i) {
        auto node = parse_node(y, (*nodes)[i], i, inv.interface);
        if (!node) return fail(node.error());
        if (auto [it, fresh] = names.emplace(node->name, node->line); !fresh)
            return fail(y.error((*nodes)[i]["name"], fmt::format("nodes[{}].name", i),
                                fmt::format("'{}' is already the name of the node at line {}", node->name, it->second)));
        for (const auto& [a, other] : addresses)
            if (a.same_host(node->address))
                return fail(y.error((*nodes)[i]["address"], fmt::format("nodes[{}] ({}).address", i, node->name),
                                    fmt::format("{} is already the address of node {}", node->address.text, other)));
        addresses.emplace_back(node->address, node->name);
        inv.nodes.push_back(std::move(*node));
    }

    std::size_t masters = std::count_if(inv.nodes.begin(), inv.nodes.end(), [](const Node& n) { return n.role == Role::master; });
    if (masters == 0) return fail(y.error(root["nodes"], "nodes", "no node has role master: the first master starts the cluster"));
    if (masters % 2 == 0)
        return fail(y.error(root["nodes"], "nodes",
                            fmt::format("{} masters: etcd needs a majority, so an even number tolerates no more failures than one "
                                        "fewer; use 1, 3 or 5 masters",
                                        masters)));
    if (inv.vip) {
        for (const Node& n : inv.nodes)
            if (n.address.same_host(*inv.vip))
                return fail(y.error(c["vip"], "cluster.vip", fmt::format("{} is node {}'s own address; the VIP must be an unused address", inv.vip->text, n.name)));
        bool held = std::any_of(inv.nodes.begin(), inv.nodes.end(),
                                [&](const Node& n) { return n.role == Role::master && n.address.subnet_holds(*inv.vip); });
        if (!held)
            return fail(y.error(c["vip"], "cluster.vip",
                                fmt::format("{} lies in no master's subnet (give the masters' addresses with their prefix, "
                                            "10.0.0.11/24): keepalived can only move it between masters on its network",
                                            inv.vip->text)));
    }
    if (c["registration"]) {
        auto reg = address_at(y, c, "registration", "cluster");
        if (!reg) return fail(reg.error());
        inv.registration = *reg;
    } else if (inv.vip) {
        inv.registration = *inv.vip;
    } else {
        inv.registration = inv.first_master().address;
    }
    if (masters > 1 && !inv.vip && !c["registration"])
        return fail(y.error(c, "cluster.vip", fmt::format("{} masters need a fixed registration address: set cluster.vip (keepalived) "
                                                          "or cluster.registration (a load balancer of your own)",
                                                          masters)));
    return inv;
}

} // namespace

Result<Inventory> Inventory::parse(std::string text, std::string display_path)
{
    auto y = YamlReader::parse(std::move(text), std::move(display_path));
    if (!y) return fail(y.error());
    return from_reader(*y);
}

Result<Inventory> Inventory::load(const std::string& path)
{
    auto y = YamlReader::load(path);
    if (!y) return fail(y.error());
    return from_reader(*y);
}

const Node& Inventory::first_master() const
{
    return *std::find_if(nodes.begin(), nodes.end(), [](const Node& n) { return n.role == Role::master; });
}

std::vector<const Node*> Inventory::masters() const
{
    std::vector<const Node*> out;
    for (const Node& n : nodes)
        if (n.role == Role::master) out.push_back(&n);
    return out;
}

const Node* Inventory::find(std::string_view name) const
{
    auto it = std::find_if(nodes.begin(), nodes.end(), [&](const Node& n) { return n.name == name; });
    return it == nodes.end() ? nullptr : &*it;
}

Result<const Node*> Inventory::identify(std::string_view node_flag, std::string_view hostname, const std::vector<Address>& held) const
{
    if (!node_flag.empty()) {
        if (const Node* n = find(node_flag)) return n;
        return fail(Errc::not_found, "{}: no node named '{}' (--node)", path, node_flag);
    }
    if (const Node* n = find(hostname)) return n;
    std::vector<const Node*> mine;
    for (const Node& n : nodes)
        if (std::any_of(held.begin(), held.end(), [&](const Address& a) { return a.same_host(n.address); })) mine.push_back(&n);
    if (mine.size() == 1) return mine.front();
    if (mine.size() > 1)
        return fail(Errc::failed_precondition, "{}: this machine holds the addresses of nodes {} and {}: say which it is with --node NAME", path,
                    mine[0]->name, mine[1]->name);
    std::string addrs;
    for (const Address& a : held) addrs += (addrs.empty() ? "" : ", ") + a.text;
    return fail(Errc::not_found, "{}: no node is named '{}' (this machine's hostname) or has one of its addresses ({}): "
                                 "add it, or say which node this is with --node NAME",
                path, hostname, addrs.empty() ? "none" : addrs);
}

namespace {

// Calls fn(address, device) for every IP address this network namespace's interfaces hold.
template <class Fn>
void for_each_held(Fn fn)
{
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return;
    for (ifaddrs* i = list; i; i = i->ifa_next) {
        if (!i->ifa_addr || (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6)) continue;
        char text[INET6_ADDRSTRLEN] = {};
        const void* raw = i->ifa_addr->sa_family == AF_INET ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr)
                                                            : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(i->ifa_addr)->sin6_addr);
        if (!::inet_ntop(i->ifa_addr->sa_family, raw, text, sizeof(text))) continue;
        if (auto a = Address::parse(text)) fn(*a, i->ifa_name);
    }
    ::freeifaddrs(list);
}

} // namespace

std::vector<Address> held_addresses()
{
    std::vector<Address> out;
    for_each_held([&](const Address& a, const char*) { out.push_back(a); });
    return out;
}

std::string device_holding(const Address& a)
{
    std::string out;
    for_each_held([&](const Address& held, const char* device) {
        if (out.empty() && held.same_host(a)) out = device;
    });
    return out;
}

} // namespace installer::cluster
