// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>
#include <string>

// Every entry under dir, one line each, sorted: path, type, mode, owner, and content (files) or target
// (links); what "the tree is back as it was" compares.
std::string tree_snapshot(const std::filesystem::path& dir);
