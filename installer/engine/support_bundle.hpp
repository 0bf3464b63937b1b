// SPDX-License-Identifier: Apache-2.0
// The support bundle a failed install leaves for whoever helps the operator: one ustar file under
// <state>/support/ with the log, the journal and change log, the preflight results, the configs the
// installer wrote, its services' logs, cluster.yaml and the node's facts. The cluster token is replaced
// in every file by "<redacted>" (config.yaml only names the token file, but a log line or a service
// log might quote it), and the file itself is 0600.
#pragma once

#include <filesystem>
#include <string>

#include <installer/phases/phase.hpp>

namespace installer::engine {

// Writes the bundle (temp, fsync, rename) and returns its host path. `reason` is the error the run
// ended with; `config` the cluster.yaml given (empty without --config).
common::Result<std::filesystem::path> write_support_bundle(phases::Context& ctx, const std::string& reason,
                                                           const std::filesystem::path& config);

// Every occurrence of `secret` (when at least 8 bytes) in `text` replaced by "<redacted>".
std::string redact(std::string text, std::string_view secret);

} // namespace installer::engine
