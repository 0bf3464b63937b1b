// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <common/digest/sha256.hpp>
#include <installer/system/root_dir.hpp>

namespace installer::node {

// Where the installer keeps its state on a node: node paths, and their host paths once resolved inside
// the target root (`--root`, default "/"), so a link in the root never leads the state out of it.
struct NodePaths {
    static constexpr std::string_view k_state = "/var/lib/platform-installer";
    static constexpr std::string_view k_store = "/var/lib/platform-installer/store"; // the store's node path
    static constexpr std::string_view k_log_dir = "/var/log";

    // The node path of a blob in the store at node path `store` (k_store on a node; tests pass others):
    // what the registry and apt trees hard-link.
    static std::string blob_in(std::string_view store, const common::digest::Digest& digest)
    {
        return std::string(store) + "/blobs/sha256/" + digest.hex();
    }

    std::filesystem::path root;
    std::filesystem::path state;     // <root>/var/lib/platform-installer
    std::filesystem::path store;     // <state>/store (blobs/sha256/<hex>)
    std::filesystem::path journal;   // <state>/journal.jsonl
    std::filesystem::path preflight; // <state>/preflight.json
    std::filesystem::path lock;      // <state>/install.lock
    std::filesystem::path log;       // <root>/var/log/platform-installer.log

    // The state and log folders resolved in the root. Create::yes makes them; with Create::no a missing
    // state folder gives the paths it would have (nothing is there to read yet).
    static common::Result<NodePaths> resolve(const system::RootDir& root, system::Create create)
    {
        std::filesystem::path state = root.host_path(k_state), log_dir = root.host_path(k_log_dir);
        auto resolved_state = root.host_dir(k_state, create);
        auto resolved_log = root.host_dir(k_log_dir, create);
        for (auto* r : {&resolved_state, &resolved_log})
            if (!*r && (create == system::Create::yes || r->error().code != common::Errc::not_found)) return common::fail(r->error());
        if (resolved_state) state = *resolved_state;
        if (resolved_log) log_dir = *resolved_log;
        return NodePaths{root.path(),         state, state / "store", state / "journal.jsonl", state / "preflight.json",
                         state / "install.lock", log_dir / "platform-installer.log"};
    }
};

} // namespace installer::node
