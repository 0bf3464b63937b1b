// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>

namespace installer::node {

// Where the installer keeps its state on a node, all under the target root (`--root`, default "/").
struct NodePaths {
    std::filesystem::path root;
    std::filesystem::path state;     // <root>/var/lib/platform-installer
    std::filesystem::path store;     // <state>/store (blobs/sha256/<hex>)
    std::filesystem::path journal;   // <state>/journal.jsonl
    std::filesystem::path preflight; // <state>/preflight.json
    std::filesystem::path lock;      // <state>/install.lock
    std::filesystem::path log;       // <root>/var/log/platform-installer.log

    static NodePaths under(const std::filesystem::path& root)
    {
        std::filesystem::path state = root / "var/lib/platform-installer";
        return {root, state, state / "store", state / "journal.jsonl", state / "preflight.json", state / "install.lock",
                root / "var/log/platform-installer.log"};
    }
    // A path of the node (absolute, as in bundle.json) inside the target root.
    std::filesystem::path on_node(std::string_view absolute) const { return root / std::filesystem::path(absolute).relative_path(); }
};

} // namespace installer::node
