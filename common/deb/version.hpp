// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>

#include <common/util/error.hpp>

namespace common::deb {

// A Debian version [epoch:]upstream[-revision], ordered exactly as dpkg orders them
// (deb-version(7): epoch numerically; then upstream and revision by verrevcmp, where '~' sorts before
// everything, even the end, and letters before other characters).
struct Version {
    unsigned long epoch = 0;
    std::string upstream;
    std::string revision;

    // Parses as dpkg does; invalid_argument for an empty upstream, a bad epoch or a character dpkg refuses.
    static Result<Version> parse(std::string_view text);
    std::string str() const;
};

// <0, 0, >0 as dpkg --compare-versions a lt/eq/gt b.
int compare(const Version& a, const Version& b);
// Compares version strings; unparsable strings compare as plain text after every valid version.
int compare_versions(std::string_view a, std::string_view b);

} // namespace common::deb
