// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace common {

// RFC 4648 base64 with padding.
std::string base64_encode(std::string_view data);
// Standard or URL-safe alphabet, padding optional; nullopt for anything that is not base64.
std::optional<std::string> base64_decode(std::string_view text);

} // namespace common
