// SPDX-License-Identifier: Apache-2.0
#include <common/deb/relation.hpp>

#include <common/deb/version.hpp>

namespace common::deb {

namespace {

std::string_view trim(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

Result<Relation> parse_one(std::string_view text)
{
    std::string_view s = trim(text);
    // Drop architecture restrictions and build profiles: a '[' or '<' outside the parentheses.
    int depth = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '(') ++depth;
        else if (s[i] == ')') --depth;
        else if (depth == 0 && (s[i] == '[' || s[i] == '<')) {
            s = trim(s.substr(0, i));
            break;
        }
    }
    Relation r;
    std::size_t paren = s.find('(');
    std::string_view name = trim(s.substr(0, paren));
    if (name.empty()) return fail(Errc::invalid_argument, "relation '{}': no package name", text);
    if (std::size_t colon = name.find(':'); colon != std::string_view::npos) {
        r.arch_qualifier = std::string(name.substr(colon + 1));
        name = name.substr(0, colon);
    }
    r.name = std::string(name);
    if (paren == std::string_view::npos) return r;
    std::size_t close = s.find(')', paren);
    if (close == std::string_view::npos) return fail(Errc::invalid_argument, "relation '{}': missing ')'", text);
    std::string_view inner = trim(s.substr(paren + 1, close - paren - 1));
    std::size_t op_len = 0;
    if (inner.starts_with("<<")) r.op = Op::lt, op_len = 2;
    else if (inner.starts_with("<=")) r.op = Op::le, op_len = 2;
    else if (inner.starts_with(">=")) r.op = Op::ge, op_len = 2;
    else if (inner.starts_with(">>")) r.op = Op::gt, op_len = 2;
    else if (inner.starts_with("=")) r.op = Op::eq, op_len = 1;
    else if (inner.starts_with("<")) r.op = Op::le, op_len = 1; // obsolete spelling of <=
    else if (inner.starts_with(">")) r.op = Op::ge, op_len = 1; // obsolete spelling of >=
    else return fail(Errc::invalid_argument, "relation '{}': unknown operator", text);
    r.version = std::string(trim(inner.substr(op_len)));
    if (r.version.empty()) return fail(Errc::invalid_argument, "relation '{}': no version", text);
    return r;
}

} // namespace

std::string_view op_str(Op op)
{
    switch (op) {
    case Op::any: return "";
    case Op::lt: return "<<";
    case Op::le: return "<=";
    case Op::eq: return "=";
    case Op::ge: return ">=";
    case Op::gt: return ">>";
    }
    return "";
}

std::string Relation::str() const
{
    std::string out = name;
    if (!arch_qualifier.empty()) out += ":" + arch_qualifier;
    if (op != Op::any) out += fmt::format(" ({} {})", op_str(op), version);
    return out;
}

Result<std::vector<Alternatives>> parse_relations(std::string_view field)
{
    std::vector<Alternatives> out;
    std::size_t pos = 0;
    while (pos <= field.size()) {
        std::size_t comma = field.find(',', pos);
        if (comma == std::string_view::npos) comma = field.size();
        std::string_view group = trim(field.substr(pos, comma - pos));
        pos = comma + 1;
        if (group.empty()) continue;
        Alternatives alts;
        std::size_t gpos = 0;
        while (gpos <= group.size()) {
            std::size_t bar = group.find('|', gpos);
            if (bar == std::string_view::npos) bar = group.size();
            auto r = parse_one(group.substr(gpos, bar - gpos));
            if (!r) return fail(r.error());
            alts.push_back(std::move(*r));
            gpos = bar + 1;
        }
        out.push_back(std::move(alts));
    }
    return out;
}

bool satisfies(const std::string& have, Op op, const std::string& want)
{
    if (op == Op::any) return true;
    int c = compare_versions(have, want);
    switch (op) {
    case Op::lt: return c < 0;
    case Op::le: return c <= 0;
    case Op::eq: return c == 0;
    case Op::ge: return c >= 0;
    case Op::gt: return c > 0;
    case Op::any: return true;
    }
    return false;
}

} // namespace common::deb
