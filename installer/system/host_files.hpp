// SPDX-License-Identifier: Apache-2.0
// Small pieces the HostSystem files share (host_system.cpp, host_tree.cpp); not an API.
#pragma once

#include <string>

#include <installer/system/root_dir.hpp>
#include <installer/system/system.hpp>

namespace installer::system::detail {

// ".<name>.tmp-XXXXXX", as common::io::create_temp_beside names them, so leftovers are recognised.
std::string temp_name(const std::string& name);
// Removes what a killed run left beside `name` (".<name>.tmp-XXXXXX"); the node lock is held.
void remove_stale_temps(const Folder& dir, const std::string& name);
common::Result<void> sync_folder(const Folder& dir);
// What is at dir/name, the last component not followed (kind missing when absent).
common::Result<FileInfo> info_of(int dir, const std::string& name, const std::string& what);

} // namespace installer::system::detail
