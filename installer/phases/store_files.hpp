// SPDX-License-Identifier: Apache-2.0
// Node files copied from the store's blobs, shared by the phases that install them (binaries, addons).
#pragma once

#include <string>
#include <string_view>

#include <installer/phases/phase.hpp>

namespace installer::phases {

// True when the node path holds exactly the blob's bytes with this mode.
Result<bool> holds_blob(system::System& sys, std::string_view path, const common::store::BlobRef& blob, unsigned mode);

// Copies the blob from the node's store to path (verified on the way, atomic, journaled). A store copy
// found damaged is dropped, so that the next run's store phase restores it from the bundle; the error says so.
Result<void> install_from_store(Context& ctx, std::string_view path, const common::store::BlobRef& blob, unsigned mode);

// The blob's bytes, read from the node's store and checked against its digest (same handling of damage).
Result<std::string> read_from_store(Context& ctx, const common::store::BlobRef& blob);

} // namespace installer::phases
