// SPDX-License-Identifier: Apache-2.0
#include <installer/engine/support_bundle.hpp>

#include <common/io/file.hpp>
#include <common/io/string_stream.hpp>
#include <common/io/tar_stream.hpp>
#include <installer/cluster/inventory.hpp>
#include <installer/system/facts.hpp>

#include <fmt/chrono.h>
#include <nlohmann/json.hpp>

#include <sys/utsname.h>

#include <chrono>
#include <ctime>
#include <memory>

namespace installer::engine {

namespace {

constexpr std::uint64_t k_log_tail = 4 << 20;    // the end of a long log is what explains a failure
constexpr std::uint64_t k_config_max = 1 << 20;

// The configs the installer writes on a node (node paths); the ones present are taken.
constexpr std::string_view k_node_configs[] = {
    "/etc/os-release",
    "/etc/hostname",
    "/etc/rancher/k3s/config.yaml",
    "/etc/rancher/k3s/registries.yaml",
    "/etc/platform-installer/keepalived.conf",
    "/etc/platform-installer/haproxy.cfg",
    "/etc/apt/sources.list.d/platform-installer.sources",
    "/var/log/k3s.log",
};

std::string tail_of(std::string text, std::uint64_t max)
{
    if (text.size() > max) text.erase(0, text.size() - max);
    return text;
}

// A host file's text (its end when long); empty when it is missing.
std::string host_text(const std::filesystem::path& path, std::uint64_t max = k_log_tail)
{
    auto f = common::io::File::open_read(path.string());
    if (!f) return {};
    auto size = f->size();
    if (!size) return {};
    std::uint64_t take = std::min<std::uint64_t>(*size, max);
    std::string out(take, '\0');
    if (!f->pread_exact(std::as_writable_bytes(std::span(out)), *size - take)) return {};
    return out;
}

nlohmann::json node_facts(phases::Context& ctx)
{
    nlohmann::json j;
    if (auto f = system::gather_facts(ctx.sys, ctx.paths.state)) {
        j["os"] = f->os_id + " " + f->os_version_id;
        j["arch"] = f->arch;
        j["cpus"] = f->cpus;
        j["memory_bytes"] = f->memory_bytes;
        j["data_dir_free_bytes"] = f->data_dir_free_bytes;
        j["euid"] = f->euid;
    }
    utsname u{};
    if (::uname(&u) == 0) j["kernel"] = fmt::format("{} {} {}", u.sysname, u.release, u.machine);
    std::vector<std::string> addrs;
    for (const auto& a : cluster::held_addresses()) addrs.push_back(a.text);
    j["addresses"] = addrs;
    j["role"] = ctx.role;
    j["bundle"] = {{"profile", ctx.index.profile}, {"version", ctx.index.version}, {"bundle_json_sha256", ctx.bundle_id}};
    if (ctx.self) j["node"] = ctx.self->name;
    j["root"] = ctx.paths.root.string();
    return j;
}

} // namespace

std::string redact(std::string text, std::string_view secret)
{
    if (secret.size() < 8) return text;
    for (std::size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at))
        text.replace(at, secret.size(), "<redacted>");
    return text;
}

common::Result<std::filesystem::path> write_support_bundle(phases::Context& ctx, const std::string& reason,
                                                           const std::filesystem::path& config)
{
    std::string token;
    if (ctx.inventory)
        if (auto t = ctx.sys.read_file(ctx.inventory->token_file, 4096)) {
            token = *t;
            while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
        }

    std::vector<std::pair<std::string, std::string>> files; // name in the archive, text (redacted below)
    auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    files.emplace_back("README.txt", fmt::format("platform-installer support bundle, {:%Y-%m-%d %H:%M:%S} UTC\n"
                                                 "node {}, role {}, root {}\nthe install failed:\n{}\n"
                                                 "The cluster token is replaced by <redacted> in every file.\n",
                                                 now, ctx.self ? ctx.self->name : "(no cluster.yaml)", ctx.role,
                                                 ctx.paths.root.string(), reason));
    files.emplace_back("facts.json", node_facts(ctx).dump(2) + "\n");
    files.emplace_back("platform-installer.log", host_text(ctx.paths.log));
    files.emplace_back("journal.jsonl", host_text(ctx.paths.journal));
    files.emplace_back("changes.jsonl", host_text(ctx.paths.state / "changes.jsonl"));
    files.emplace_back("preflight.json", host_text(ctx.paths.preflight));
    if (!config.empty()) files.emplace_back("cluster.yaml", host_text(config, k_config_max));
    for (std::string_view node_path : k_node_configs) {
        auto text = ctx.sys.read_file(node_path, node_path.ends_with(".log") ? (64u << 20) : k_config_max);
        if (text) files.emplace_back("node" + std::string(node_path), tail_of(std::move(*text), k_log_tail));
    }
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(ctx.paths.state / "services", ec))
        if (e.path().extension() == ".log") files.emplace_back("services/" + e.path().filename().string(), host_text(e.path()));

    std::vector<std::string> texts;
    texts.reserve(files.size());
    std::vector<common::io::TarEntry> entries;
    for (auto& [name, text] : files) {
        if (name.size() > 90) continue;
        texts.push_back(redact(std::move(text), token));
        const std::string* body = &texts.back();
        entries.push_back({name, body->size(), [body]() -> common::Result<std::unique_ptr<common::io::Source>> {
                               return std::make_unique<common::io::StringSource>(*body);
                           }});
    }
    common::io::TarStream tar(std::move(entries));
    common::io::StringSink sink(512u << 20, "support bundle");
    if (auto copied = common::io::copy(tar, sink); !copied) return common::fail(copied.error());
    std::filesystem::path dir = ctx.paths.state / "support";
    TRY_VOID(common::io::make_dirs(dir));
    std::filesystem::path out = dir / fmt::format("support-{:%Y%m%dT%H%M%SZ}.tar", now);
    TRY_VOID(common::io::write_file_atomic(out, sink.take(), 0600));
    return out;
}

} // namespace installer::engine
