// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <functional>

#include <bundler/http/http_client.hpp>

namespace bundler::http {

// Runs task(client, i) for every i in [0, count) on at most `jobs` threads, each with its own Client
// (one curl handle per thread). After the first failure no new task starts; returns the failure of the
// lowest index, so the error reported does not depend on timing.
Result<void> for_each_parallel(std::size_t count, unsigned jobs, const std::function<Result<void>(Client&, std::size_t)>& task);

} // namespace bundler::http
