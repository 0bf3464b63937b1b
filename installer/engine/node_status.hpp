// SPDX-License-Identifier: Apache-2.0
// What `--status` reports about a node, read through the root without writing to it: the bundle and
// role the journal recorded last, each phase's last event with its times, the files, packages and k3s
// installed, the services the installer started and whether they are up, and the store's size. No lock
// is taken (whether an installer holds it is tested with a shared lock let go at once), no log attached.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <common/bundle/bundle_index.hpp>
#include <installer/system/root_dir.hpp>

namespace installer::engine {

// One row of the phase table, for the recorded bundle and role.
struct PhaseStatus {
    std::string name;
    std::string level;   // gate, state, host, cluster
    std::string status;  // done, failed, undone, running, interrupted, none
    bool in_plan = true; // in the role's plan (without the bundle's index: whether the journal has it)
    std::optional<std::int64_t> started, finished, seconds; // Unix seconds; seconds = finished - started
};

// A file of the bundle for this role, as it is on the node now.
struct FileStatus {
    std::string name, path, digest;
    std::string state; // installed (the bundle's bytes), changed (other bytes), missing
};

// A Debian package the installer installed; version empty when dpkg no longer has it installed.
struct PackageStatus {
    std::string name, version;
};

// A service the installer started (change log "start", not undone).
struct ServiceStatus {
    std::string name, phase;
    bool active = false;
};

struct NodeStatus {
    std::string root;
    std::string state; // not installed, installed, running, interrupted, failed, undone, incomplete
    bool running = false;                   // an installer (install or reset) holds the node lock now
    std::optional<std::string> interrupted; // the phase a run stopped in, when none runs now
    std::string bundle_id;                  // bundle.json's "sha256:<hex>", as the journal recorded it
    std::string profile, version;           // empty when no index of that bundle is at hand
    std::string role;
    std::vector<PhaseStatus> phases;
    std::vector<FileStatus> files;
    std::vector<PackageStatus> packages;
    bool k3s_installed = false; // /usr/local/bin/k3s is a file in the root
    std::vector<ServiceStatus> services;
    std::uint64_t store_blobs = 0, store_bytes = 0;
};

// A bundle whose index may be the one the journal names: the one this program carries, if any.
struct CarriedBundle {
    std::string id; // bundle.json's "sha256:<hex>"
    const common::bundle::BundleIndex* index = nullptr;
};

// Reads the node's status. Errors: io (a state file unreadable), corrupt (a change log line).
common::Result<NodeStatus> read_node_status(const system::RootDir& root, const CarriedBundle& carried);

// The status for the operator (several lines) and as one JSON object (docs/formats.md, "status --json").
std::string render_text(const NodeStatus& status);
nlohmann::json to_json(const NodeStatus& status);

// Keeps the installed bundle's index as <state>/bundle.json, where --status finds its profile, version
// and files; written only when its canonical JSON has bundle_id's digest and differs from what is there.
common::Result<void> keep_bundle_index(const std::filesystem::path& state, const common::bundle::BundleIndex& index,
                                       std::string_view bundle_id);

} // namespace installer::engine
