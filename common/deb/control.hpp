// SPDX-License-Identifier: Apache-2.0
// deb822 control data (Packages, Release): paragraphs of "Field: value" lines separated by blank lines;
// a line starting with a space or tab continues the previous field. Field names are case-insensitive.
#pragma once

#include <functional>
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

// Calls fn for each paragraph of text, in order; stops at fn's first error. Errors in the text itself
// (a line that is neither a field nor a continuation) are invalid_argument naming the line.
Result<void> for_each_paragraph(std::string_view text, const std::function<Result<void>(const Paragraph&)>& fn);

// The lines of a multi-line field value (e.g. Release's SHA256), each trimmed, empty lines dropped.
std::vector<std::string_view> value_lines(std::string_view value);

} // namespace common::deb
