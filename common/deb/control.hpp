// SPDX-License-Identifier: Apache-2.0
// deb822 control data (Packages, Release): paragraphs of "Field: value" lines separated by blank lines;
// a line starting with a space or tab continues the previous field; a line starting with '#' is a
// comment. Field names are case-insensitive.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <common/util/error.hpp>

namespace common::deb {

struct Field {
    std::string_view name;
    std::string_view value; // first line's value, trimmed; continuation lines follow raw after '\n'
};

struct Paragraph {
    std::vector<Field> fields;
    std::size_t line = 0; // 1-based line of the paragraph's first field

    // The field's value, or empty when absent.
    std::string_view get(std::string_view name) const;
    bool has(std::string_view name) const;
};

// Called once per paragraph; the Paragraph and its views are valid only during the call.
using ParagraphFn = std::function<Result<void>(const Paragraph&)>;

// Reads deb822 text fed in chunks of any size (a decompressor's output) and hands each paragraph to fn
// as soon as its closing blank line (or the end) arrives. Only the paragraph being read is buffered, so
// a Packages index of any size is read in the memory of its largest paragraph. Line numbers count from
// the first byte fed. Errors: invalid_argument "line N: ..." for a line that is neither a field, a
// continuation nor a comment, or a paragraph over max_paragraph_bytes; fn's first error stops the reader.
class ParagraphReader {
public:
    explicit ParagraphReader(ParagraphFn fn, std::size_t max_paragraph_bytes = std::numeric_limits<std::size_t>::max())
        : m_fn(std::move(fn)), m_max(max_paragraph_bytes)
    {
    }

    // Reads the next bytes; calls fn for every paragraph they complete.
    Result<void> feed(std::string_view chunk);
    // The end of the text: calls fn for the last paragraph, if one is open.
    Result<void> finish();
    // Lines read so far (complete lines; the last one once finish() ran).
    std::size_t lines() const { return m_line; }

private:
    // The current paragraph's fields, as offsets into the bytes being scanned.
    struct OpenField {
        std::size_t name_begin, name_end, value_begin, value_end;
    };
    Result<std::size_t> scan(std::string_view data, bool at_end);
    Result<void> line(std::string_view data, std::size_t begin, std::size_t end);
    void close_field(std::size_t end);
    Result<void> flush(std::string_view data, std::size_t end);
    void shift(std::size_t by);

    ParagraphFn m_fn;
    std::size_t m_max;
    std::string m_buf; // the open paragraph's bytes (and an unfinished line) carried between feeds
    std::size_t m_scan = 0;       // where in the data the next unread line starts
    std::size_t m_para_begin = 0; // where the open paragraph (or the next one) starts
    std::size_t m_line = 0;
    std::vector<OpenField> m_fields;
    std::size_t m_para_line = 0;
    bool m_failed = false;
    Paragraph m_paragraph; // reused: its vector keeps its capacity
};

// Calls fn for each paragraph of text, in order (a ParagraphReader fed the whole text); stops at fn's
// first error. Errors in the text itself are invalid_argument naming the line.
Result<void> for_each_paragraph(std::string_view text, const ParagraphFn& fn);

// The lines of a multi-line field value (e.g. Release's SHA256), each trimmed, empty lines dropped.
std::vector<std::string_view> value_lines(std::string_view value);

} // namespace common::deb
