// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

#include <common/bundle/bundle_file.hpp>

namespace common::bundle {

// Human-readable description of a bundle (bundler inspect, installer --info).
std::string describe(const BundleFile& file, const BundleIndex& index);
// One line per artifact: kind, name, install path, mode, size, digest (installer --list).
std::string list_artifacts(const BundleIndex& index);

} // namespace common::bundle
