// SPDX-License-Identifier: Apache-2.0
#include <common/util/error.hpp>

#include <cstring>

namespace common {

std::string_view to_string(Errc code)
{
    switch (code) {
    case Errc::not_found: return "not_found";
    case Errc::digest_mismatch: return "digest_mismatch";
    case Errc::size_mismatch: return "size_mismatch";
    case Errc::io: return "io";
    case Errc::network: return "network";
    case Errc::invalid_argument: return "invalid_argument";
    case Errc::failed_precondition: return "failed_precondition";
    case Errc::corrupt: return "corrupt";
    case Errc::unsupported: return "unsupported";
    case Errc::busy: return "busy";
    }
    return "unknown";
}

std::unexpected<Error> fail_errno(std::string_view what, int err)
{
    Errc code = err == ENOENT ? Errc::not_found : Errc::io;
    return std::unexpected(Error{code, fmt::format("{}: {}", what, std::strerror(err))});
}

} // namespace common
