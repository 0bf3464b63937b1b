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

// A field's value runs from after its colon to the start of the next field or blank line.
std::string_view trim_value(std::string_view v)
{
    while (!v.empty() && (v.back() == '\n' || v.back() == '\r' || v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    return v;
}

bool same_name(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}
} // namespace

std::string_view Paragraph::get(std::string_view name) const
{
    for (const Field& f : fields)
        if (same_name(f.name, name)) return f.value;
    return {};
}

bool Paragraph::has(std::string_view name) const
{
    for (const Field& f : fields)
        if (same_name(f.name, name)) return true;
    return false;
}

Result<void> ParagraphReader::feed(std::string_view chunk)
{
    if (m_failed) return fail(Errc::failed_precondition, "read paragraphs: the reader stopped at an earlier error");
    std::size_t consumed = 0;
    if (m_buf.empty()) {
        // Nothing carried over: read the chunk where it is, and keep only its unfinished tail.
        auto r = scan(chunk, false);
        if (!r) return fail(r.error());
        consumed = *r;
        m_buf.assign(chunk.substr(consumed));
    } else {
        m_buf.append(chunk);
        auto r = scan(m_buf, false);
        if (!r) return fail(r.error());
        consumed = *r;
        m_buf.erase(0, consumed);
    }
    shift(consumed);
    if (m_buf.size() > m_max) {
        m_failed = true;
        return fail(Errc::invalid_argument, "line {}: paragraph is over {} bytes", m_fields.empty() ? m_line + 1 : m_para_line, m_max);
    }
    return {};
}

Result<void> ParagraphReader::finish()
{
    if (m_failed) return fail(Errc::failed_precondition, "read paragraphs: the reader stopped at an earlier error");
    auto r = scan(m_buf, true);
    if (!r) return fail(r.error());
    auto flushed = flush(m_buf, m_buf.size());
    m_buf.clear();
    m_scan = m_para_begin = 0;
    return flushed;
}

// Reads the complete lines of data from m_scan on (at the end, the unterminated last line too).
// Returns how many leading bytes of data are no longer needed: those before the open paragraph.
Result<std::size_t> ParagraphReader::scan(std::string_view data, bool at_end)
{
    while (m_scan < data.size()) {
        std::size_t eol = data.find('\n', m_scan);
        if (eol == std::string_view::npos) {
            if (!at_end) break;
            eol = data.size();
        }
        std::size_t begin = m_scan;
        m_scan = eol == data.size() ? eol : eol + 1;
        if (auto r = line(data, begin, eol); !r) {
            m_failed = true;
            return fail(r.error());
        }
        if (m_fields.empty()) m_para_begin = m_scan;
    }
    return m_para_begin;
}

Result<void> ParagraphReader::line(std::string_view data, std::size_t begin, std::size_t end)
{
    std::string_view text = data.substr(begin, end - begin);
    ++m_line;
    if (trim(text).empty()) return flush(data, begin);
    if (text.front() == ' ' || text.front() == '\t') {
        if (m_fields.empty()) return fail(Errc::invalid_argument, "line {}: continuation line without a field", m_line);
        return {}; // part of the current value
    }
    if (text.front() == '#') return {};
    std::size_t colon = text.find(':');
    if (colon == std::string_view::npos || colon == 0) return fail(Errc::invalid_argument, "line {}: expected 'Field: value'", m_line);
    close_field(begin);
    if (m_fields.empty()) m_para_line = m_line;
    m_fields.push_back({begin, begin + colon, begin + colon + 1, begin + colon + 1});
    return {};
}

void ParagraphReader::close_field(std::size_t end)
{
    if (!m_fields.empty()) m_fields.back().value_end = end;
}

Result<void> ParagraphReader::flush(std::string_view data, std::size_t end)
{
    if (m_fields.empty()) return {};
    close_field(end);
    m_paragraph.fields.clear();
    for (const OpenField& f : m_fields)
        m_paragraph.fields.push_back({data.substr(f.name_begin, f.name_end - f.name_begin),
                                      trim_value(data.substr(f.value_begin, f.value_end - f.value_begin))});
    m_paragraph.line = m_para_line;
    m_fields.clear();
    auto r = m_fn(m_paragraph);
    if (!r) m_failed = true;
    return r;
}

void ParagraphReader::shift(std::size_t by)
{
    m_scan -= by;
    m_para_begin -= by;
    for (OpenField& f : m_fields) {
        f.name_begin -= by;
        f.name_end -= by;
        f.value_begin -= by;
        f.value_end -= by;
    }
}

Result<void> for_each_paragraph(std::string_view text, const ParagraphFn& fn)
{
    ParagraphReader reader(fn);
    TRY_VOID(reader.feed(text));
    return reader.finish();
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
