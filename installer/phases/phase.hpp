// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <set>
#include <vector>
#include <string>
#include <string_view>

#include <common/bundle/bundle_file.hpp>
#include <common/bundle/phase_table.hpp>
#include <installer/cluster/inventory.hpp>
#include <installer/engine/logger.hpp>
#include <installer/node/node_paths.hpp>
#include <installer/system/system.hpp>

namespace installer::phases {

using common::Result;

// Settings of this node that do not come from the bundle (command line, later cluster.yaml).
struct NodeOptions {
    std::string registry_listen = ":5000";   // where this node's registry listens
    std::vector<std::string> registry_peers; // other registries to fall back to, in order (the masters'): http://IP:PORT
    int apt_lock_timeout_s = 300;             // how long apt waits for another apt or dpkg (unattended-upgrades)
    int k3s_ready_timeout_s = 300;            // how long the k3s phase waits for the node to be Ready
};

// What every phase may use. The bundle file's digests were checked before any phase runs. A phase
// touches the node only through `sys` (node paths, resolved in the root, journaled for undo).
struct Context {
    const common::bundle::BundleFile& bundle;
    const common::bundle::BundleIndex& index;
    std::string bundle_id; // bundle.json's sha256: names this bundle in the journal
    std::string role;
    node::NodePaths paths; // the installer's own state (store, journal), resolved in the root
    engine::Logger& log;
    system::System& sys;
    std::set<std::string> skip_checks; // preflight check ids the operator skipped
    NodeOptions options{};
    const cluster::Inventory* inventory = nullptr; // --config: the cluster this node belongs to
    const cluster::Node* self = nullptr;           // this node in it
    std::string hostname;                          // the node's hostname, which identified it (with --config)
};

// True when the node file at `path` is a regular file holding exactly `content` (phases compare before
// they write, so a re-run changes nothing).
inline Result<bool> file_holds(system::System& sys, std::string_view path, std::string_view content)
{
    auto have = sys.stat(path);
    if (!have) return std::unexpected(have.error());
    if (have->kind != system::FileKind::regular || have->size != content.size()) return false;
    auto text = sys.read_file(path, content.size() + 1);
    if (!text) return std::unexpected(text.error());
    return *text == content;
}

// One ordered install step. Phases are idempotent: satisfied() looks at the node and says whether the
// phase's work is already in place; apply() does only what is missing and may be re-run after a crash.
// Its name, level and summary are its row of common::bundle::phase_table().
class Phase {
public:
    explicit Phase(const common::bundle::PhaseInfo& info) : m_info(info) {}
    virtual ~Phase() = default;
    const common::bundle::PhaseInfo& info() const { return m_info; }
    std::string_view name() const { return info().name; }
    std::string_view summary() const { return info().summary; }
    // A gate (preflight) checks the node and changes nothing; it runs whenever another phase has work.
    bool is_gate() const { return info().level == common::bundle::PhaseLevel::gate; }
    virtual Result<bool> satisfied(Context& ctx) const = 0;
    virtual Result<void> apply(Context& ctx) = 0;
    // Why the phase has no work on this node whatever its state (another node does it), or empty.
    virtual std::string not_here(const Context&) const { return {}; }

private:
    const common::bundle::PhaseInfo& m_info;
};

} // namespace installer::phases
