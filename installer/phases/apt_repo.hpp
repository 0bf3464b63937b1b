// SPDX-License-Identifier: Apache-2.0
// What the apt phase lays out, as pure functions of the bundle (tested without a node): the node's own
// apt repository of one target, under k_apt_root/<target>/:
//     pool/<file>.deb                                   hard links of the store's blobs
//     dists/platform/main/binary-<arch>/Packages{,.gz,.xz}  hard links of the bundle's indexes (made by the bundler)
//     dists/platform/Release                            written here: the indexes' sizes and SHA256
//     dists/platform/InRelease                          Release signed with the node's own key (apt_phase)
// and how apt is run against it: a sources entry with signed-by (never trusted=yes), and the options that
// make apt see only that repository without touching the operator's source files or lists.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <common/bundle/bundle_index.hpp>
#include <installer/system/system.hpp>

namespace installer::phases {

using common::Result;

inline constexpr std::string_view k_apt_root = "/var/lib/platform-installer/apt";
inline constexpr std::string_view k_apt_suite = "platform";
inline constexpr std::string_view k_apt_keyring = "/etc/apt/keyrings/platform-installer.gpg";
inline constexpr std::string_view k_apt_sources = "/etc/apt/sources.list.d/platform-installer.sources";

// The bundle's target for a node's os-release: "debian-12", "ubuntu-22.04".
std::string apt_target(std::string_view os_id, std::string_view version_id);

// The repository's tree for `target` (pool links, index links, Release), sorted; blobs link to
// <store>/blobs/sha256/<hex>. not_found when the bundle has no closure or no indexes for the target.
Result<std::vector<system::TreeEntry>> apt_repo_tree(const common::bundle::BundleIndex& index, std::string_view target,
                                                     std::string_view store);

// The Release of the repository (Suite and Codename "platform", component main), listing the indexes with
// their sizes and SHA256 (what apt checks); `date` in RFC 2822 form, e.g. "Thu, 01 Jan 1970 00:00:00 UTC".
std::string apt_release(const common::bundle::AptIndex& index, std::string_view date);
// RFC 2822 date (UTC) of unix seconds, as apt reads it.
std::string apt_date(std::int64_t unix_seconds);

// The deb822 sources entry of the repository (file: URI, signed-by the node's keyring).
std::string apt_sources_entry(std::string_view target);

// apt-get options that make it read only `sources_dir` (no sources.list, no sources.list.d), keep its lists
// in `lists_dir` (never cleaning the operator's), wait for the dpkg lock up to `lock_timeout_s`, and keep
// existing config files.
std::vector<std::string> apt_isolation_options(std::string_view sources_dir, std::string_view lists_dir, int lock_timeout_s);

} // namespace installer::phases
