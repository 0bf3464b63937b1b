// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <common/util/error.hpp>

namespace common::deb {

enum class Op { any, lt, le, eq, ge, gt };

// One package relation: name[:arch] [(op version)].
struct Relation {
    std::string name;
    std::string arch_qualifier; // "any", "native", an architecture, or empty
    Op op = Op::any;
    std::string version;

    std::string str() const;
};

// "a | b": any one satisfies.
using Alternatives = std::vector<Relation>;

// Parses a Depends-style field: comma-separated groups of '|'-separated relations. Architecture lists
// and build profiles ([...] <...>) are accepted and ignored (they occur only in source packages).
Result<std::vector<Alternatives>> parse_relations(std::string_view field);

// Whether version `have` satisfies "op want" (dpkg ordering).
bool satisfies(const std::string& have, Op op, const std::string& want);

std::string_view op_str(Op op);

} // namespace common::deb
