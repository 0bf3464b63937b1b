// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <set>
#include <string>
#include <string_view>

#include <common/bundle/bundle_file.hpp>
#include <installer/engine/logger.hpp>
#include <installer/node/node_paths.hpp>

namespace installer::phases {

using common::Result;

// What every phase may use. The bundle file's digests were checked before any phase runs.
struct Context {
    const common::bundle::BundleFile& bundle;
    const common::bundle::BundleIndex& index;
    std::string bundle_id; // bundle.json's sha256: names this bundle in the journal
    std::string role;
    node::NodePaths paths;
    engine::Logger& log;
    std::set<std::string> skip_checks; // preflight check ids the operator skipped
};

// One ordered install step. Phases are idempotent: satisfied() looks at the node and says whether the
// phase's work is already in place; apply() does only what is missing and may be re-run after a crash.
class Phase {
public:
    virtual ~Phase() = default;
    virtual std::string_view name() const = 0;
    // One line for --dry-run and the progress output.
    virtual std::string_view summary() const = 0;
    // A gate (preflight) checks the node and changes nothing; it runs whenever another phase has work.
    virtual bool is_gate() const { return false; }
    virtual Result<bool> satisfied(Context& ctx) const = 0;
    virtual Result<void> apply(Context& ctx) = 0;
};

} // namespace installer::phases
