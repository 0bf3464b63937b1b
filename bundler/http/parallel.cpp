// SPDX-License-Identifier: Apache-2.0
#include <bundler/http/parallel.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace bundler::http {

Result<void> for_each_parallel(std::size_t count, unsigned jobs, const std::function<Result<void>(Client&, std::size_t)>& task)
{
    std::atomic<std::size_t> next{0};
    std::atomic<bool> stop{false};
    std::mutex mutex;
    std::map<std::size_t, common::Error> failures;
    auto worker = [&] {
        Client client;
        while (!stop) {
            std::size_t i = next++;
            if (i >= count) return;
            auto r = task(client, i);
            if (!r) {
                std::lock_guard lock(mutex);
                failures.emplace(i, r.error());
                stop = true;
            }
        }
    };
    std::size_t threads = std::min<std::size_t>(std::max(1u, jobs), count);
    if (threads <= 1) {
        worker();
    } else {
        std::vector<std::jthread> pool;
        for (std::size_t t = 0; t < threads; ++t) pool.emplace_back(worker);
    }
    if (!failures.empty()) return std::unexpected(failures.begin()->second);
    return {};
}

} // namespace bundler::http
