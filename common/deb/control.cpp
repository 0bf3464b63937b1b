// SPDX-License-Identifier: Apache-2.0
#include <common/deb/control.hpp>

#include <strings.h>

namespace common::deb {

namespace {
std::string_view trim(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}
} // namespace

std::string_view Paragraph::get(std::string_view name) const
{
    for (const Field& f : fields)
        if (f.name.size() == name.size() && ::strncasecmp(f.name.data(), name.data(), name.size()) == 0) return f.value;
    return {};
}

bool Paragraph::has(std::string_view name) const
{
    for (const Field& f : fields)
        if (f.name.size() == name.size() && ::strncasecmp(f.name.data(), name.data(), name.size()) == 0) return true;
    return false;
}

Result<void> for_each_paragraph(std::string_view text, const std::function<Result<void>(const Paragraph&)>& fn)
{
    Paragraph p;
    std::size_t line_no = 0;
    std::size_t pos = 0;
    const char* value_start = nullptr; // the current field's value runs to the end of its last continuation
    auto close_field = [&](const char* end) {
        if (!p.fields.empty() && value_start) {
            std::string_view v(value_start, static_cast<std::size_t>(end - value_start));
            while (!v.empty() && (v.back() == '\n' || v.back() == '\r' || v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
            while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
            p.fields.back().value = v;
        }
        value_start = nullptr;
    };
    auto flush = [&](const char* end) -> Result<void> {
        close_field(end);
        if (p.fields.empty()) return {};
        auto r = fn(p);
        p = Paragraph{};
        return r;
    };
    while (pos < text.size()) {
        std::size_t eol = text.find('\n', pos);
        if (eol == std::string_view::npos) eol = text.size();
        std::string_view line = text.substr(pos, eol - pos);
        ++line_no;
        const char* line_start = text.data() + pos;
        pos = eol + 1;
        if (trim(line).empty()) {
            TRY_VOID(flush(line_start));
            continue;
        }
        if (line.front() == ' ' || line.front() == '\t') {
            if (p.fields.empty()) return fail(Errc::invalid_argument, "line {}: continuation line without a field", line_no);
            continue; // part of the current value
        }
        if (line.front() == '#') continue;
        std::size_t colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0)
            return fail(Errc::invalid_argument, "line {}: expected 'Field: value'", line_no);
        close_field(line_start);
        if (p.fields.empty()) p.line = line_no;
        p.fields.push_back({line.substr(0, colon), {}});
        value_start = line_start + colon + 1;
    }
    return flush(text.data() + text.size());
}

std::vector<std::string_view> value_lines(std::string_view value)
{
    std::vector<std::string_view> out;
    std::size_t pos = 0;
    while (pos <= value.size()) {
        std::size_t eol = value.find('\n', pos);
        if (eol == std::string_view::npos) eol = value.size();
        std::string_view l = trim(value.substr(pos, eol - pos));
        if (!l.empty()) out.push_back(l);
        pos = eol + 1;
    }
    return out;
}

} // namespace common::deb
