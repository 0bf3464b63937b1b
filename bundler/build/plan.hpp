// SPDX-License-Identifier: Apache-2.0
// bundler plan: what a build of a profile would fetch and each role install, read offline from the
// manifests and the locks: per component its files, images, .debs and addons with sizes where the locks
// know them, per role the phases and what it gets, and every pin still missing.
#pragma once

#include <filesystem>
#include <string>

#include <common/util/error.hpp>

namespace bundler::build {

struct PlanOptions {
    std::string profile;
    std::filesystem::path workdir = ".";
    std::string arch; // empty: every architecture of the profile, one after the other
};

// The plan as text; fails only when the manifests or locks cannot be read (missing pins are listed).
common::Result<std::string> plan_text(const PlanOptions& options);

} // namespace bundler::build
