// SPDX-License-Identifier: Apache-2.0
#include <installer/system/service_unit.hpp>

#include <algorithm>
#include <optional>
#include <sstream>

namespace installer::system {

using common::Errc;
using common::fail;

namespace {

std::string quote(std::string_view s, bool exec)
{
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (c == '%') out += '%';
        if (c == '$' && exec) out += '$';
        out += c;
    }
    return out + "\"";
}

// Splits a line of quoted words as quote() wrote them.
Result<std::vector<std::string>> unquote_words(std::string_view s, bool exec)
{
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < s.size()) {
        if (s[i] == ' ') {
            ++i;
            continue;
        }
        if (s[i] != '"') return fail(Errc::corrupt, "want a double-quoted word at '{}'", s.substr(i));
        std::string word;
        for (++i;; ++i) {
            if (i >= s.size()) return fail(Errc::corrupt, "unterminated quote");
            char c = s[i];
            if (c == '"') break;
            if (c == '\\' && i + 1 < s.size()) c = s[++i];
            else if ((c == '%' || (c == '$' && exec)) && i + 1 < s.size() && s[i + 1] == c) ++i;
            word += c;
        }
        ++i;
        out.push_back(std::move(word));
    }
    return out;
}

} // namespace

std::string unit_path(std::string_view name) { return fmt::format("/etc/systemd/system/{}.service", name); }
std::string wants_path(std::string_view name) { return fmt::format("/etc/systemd/system/multi-user.target.wants/{}.service", name); }

Result<void> check_service_name(std::string_view name)
{
    bool ok = !name.empty() && name.size() <= 64 && name[0] != '-' &&
              std::all_of(name.begin(), name.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
    if (!ok) return fail(Errc::invalid_argument, "service name '{}': want lower-case letters, digits and '-'", name);
    return {};
}

std::string render_unit(const ServiceSpec& spec)
{
    std::string out = "# Written by platform-installer; `platform-installer --reset` removes it.\n[Unit]\n";
    out += fmt::format("Description={}\nWants=network-online.target\nAfter=network-online.target\n\n[Service]\nType=simple\n",
                       spec.description.empty() ? spec.name : spec.description);
    for (const auto& [k, v] : spec.env) out += "Environment=" + quote(k + "=" + v, false) + "\n";
    std::string exec;
    for (const std::string& a : spec.exec) exec += (exec.empty() ? "" : " ") + quote(a, true);
    out += "ExecStart=" + exec + "\nRestart=always\nRestartSec=5\nLimitNOFILE=1048576\n\n[Install]\nWantedBy=multi-user.target\n";
    return out;
}

Result<ServiceSpec> parse_unit(std::string_view text, std::string_view name)
{
    ServiceSpec spec;
    spec.name = std::string(name);
    std::istringstream in{std::string(text)};
    std::string line;
    for (std::size_t n = 1; std::getline(in, line); ++n) {
        auto value = [&](std::string_view key) -> std::optional<std::string_view> {
            if (!line.starts_with(key)) return std::nullopt;
            return std::string_view(line).substr(key.size());
        };
        auto words = [&](std::string_view v, bool exec) -> Result<std::vector<std::string>> {
            auto w = unquote_words(v, exec);
            if (!w) return fail(Errc::corrupt, "{} line {}: {}", unit_path(name), n, w.error().message);
            return w;
        };
        if (auto v = value("Description=")) spec.description = std::string(*v);
        else if (auto v = value("ExecStart=")) {
            auto w = words(*v, true);
            if (!w) return fail(w.error());
            spec.exec = std::move(*w);
        } else if (auto v = value("Environment=")) {
            auto w = words(*v, false);
            if (!w) return fail(w.error());
            for (const std::string& kv : *w) {
                std::size_t eq = kv.find('=');
                if (eq == std::string::npos || eq == 0) return fail(Errc::corrupt, "{} line {}: Environment without NAME=", unit_path(name), n);
                spec.env[kv.substr(0, eq)] = kv.substr(eq + 1);
            }
        }
    }
    if (spec.exec.empty()) return fail(Errc::corrupt, "{}: no ExecStart=", unit_path(name));
    return spec;
}

} // namespace installer::system
