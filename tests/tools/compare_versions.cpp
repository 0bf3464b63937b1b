// SPDX-License-Identifier: Apache-2.0
// Test tool: reads "A B" pairs (one per line) and prints "<", "=" or ">" per our dpkg ordering,
// so tests can hold it against `dpkg --compare-versions`.
#include <common/deb/version.hpp>

#include <iostream>
#include <string>

int main()
{
    std::string a, b;
    while (std::cin >> a >> b) {
        int c = common::deb::compare_versions(a, b);
        std::cout << (c < 0 ? "<" : c > 0 ? ">" : "=") << '\n';
    }
    return 0;
}
