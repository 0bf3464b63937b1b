// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include <installer/phases/phase.hpp>

namespace installer::phases {

// store: streams the payload into <state>/store in one pass (decompress, hash, write each missing blob
// to ingest/ and rename it into blobs/sha256/), after checking free space. Blobs already present are
// skipped, so a re-run or a newer bundle writes only what is missing.
std::unique_ptr<Phase> make_store_phase(const common::bundle::PhaseInfo& info);

} // namespace installer::phases
