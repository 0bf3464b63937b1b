// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace common {

// Error codes callers may branch on; the message is for humans only.
enum class Errc {
    not_found,
    digest_mismatch,
    size_mismatch,
    io,
    network,
    invalid_argument,
    failed_precondition,
    corrupt,
    unsupported,
    busy,
};

std::string_view to_string(Errc code);

struct Error {
    Errc code;
    std::string message;

    // Prefixes context at an API boundary: "fetch URL: <message>".
    Error wrap(std::string_view context) const { return Error{code, fmt::format("{}: {}", context, message)}; }
};

template <class T>
using Result = std::expected<T, Error>;

template <class... Args>
std::unexpected<Error> fail(Errc code, fmt::format_string<Args...> format, Args&&... args)
{
    return std::unexpected(Error{code, fmt::format(format, std::forward<Args>(args)...)});
}

inline std::unexpected<Error> fail(Error error) { return std::unexpected(std::move(error)); }

// Error for a failed system call: "<what>: <strerror(errno)>".
std::unexpected<Error> fail_errno(std::string_view what, int err);

} // namespace common

// Propagates an error from a Result-returning expression, with optional context.
#define TRY_VOID(expr)                                                                                                 \
    do {                                                                                                               \
        if (auto try_result_ = (expr); !try_result_) return std::unexpected(std::move(try_result_.error()));          \
    } while (0)
