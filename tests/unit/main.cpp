// SPDX-License-Identifier: Apache-2.0
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "scratch.hpp"

#include <cstdio>

// The scratch root of this run is removed when every test passed, kept and printed otherwise.
int main(int argc, char** argv)
{
    doctest::Context context(argc, argv);
    int rc = context.run();
    std::filesystem::path root = Scratch::run_root();
    if (rc == 0) {
        std::error_code ec;
        std::filesystem::remove_all(root, ec);
    } else {
        std::fprintf(stderr, "scratch kept: %s\n", root.c_str());
    }
    return rc;
}
