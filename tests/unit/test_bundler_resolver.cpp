// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <bundler/apt/repository.hpp>
#include <bundler/apt/resolver.hpp>

using bundler::apt::PackageIndex;
using bundler::apt::Recommends;
using bundler::apt::Resolver;

TEST_SUITE_BEGIN("debs");

namespace {

// A Packages text from "name version [Field: value]..." lines separated by ';'.
std::string stanza(const std::string& name, const std::string& version, const std::string& extra = "")
{
    std::string out = "Package: " + name + "\nVersion: " + version + "\nArchitecture: amd64\n";
    std::size_t pos = 0;
    while (pos < extra.size()) {
        std::size_t semi = extra.find(';', pos);
        if (semi == std::string::npos) semi = extra.size();
        out += extra.substr(pos, semi - pos) + "\n";
        pos = semi + 1;
    }
    return out + "\n";
}

std::vector<std::string> names(const std::vector<const bundler::apt::Package*>& ps)
{
    std::vector<std::string> out;
    for (const auto* p : ps) out.emplace_back(p->name);
    return out;
}

std::unique_ptr<PackageIndex> index_of(const std::string& text)
{
    auto idx = std::make_unique<PackageIndex>("amd64");
    REQUIRE(idx->add(text, 0, "test"));
    idx->finish();
    return idx;
}

} // namespace

TEST_CASE("Resolver takes the first installable alternative and the highest version")
{
    auto idx = index_of(stanza("app", "1", "Depends: missing | libb (>= 2), liba") + stanza("libb", "1") + stanza("libb", "3") +
                        stanza("liba", "1") + stanza("unrelated", "1"));
    Resolver r(*idx, Recommends::skip);
    REQUIRE(r.install({"app"}));
    CHECK(names(r.marked()) == std::vector<std::string>{"app", "liba", "libb"});
    for (const auto* p : r.marked())
        if (p->name == "libb") CHECK(p->version == "3");
}

TEST_CASE("Resolver leaves the base set out and follows Recommends only when asked")
{
    auto idx = index_of(stanza("app", "1", "Depends: libc;Recommends: extra") + stanza("libc", "1", "Priority: required") +
                        stanza("extra", "1"));
    auto base = bundler::apt::base_set(*idx, true, {});
    REQUIRE(base);
    CHECK(names(*base) == std::vector<std::string>{"libc"});
    Resolver plain(*idx, Recommends::skip);
    plain.set_installed(*base);
    REQUIRE(plain.install({"app"}));
    CHECK(names(plain.marked()) == std::vector<std::string>{"app"});
    Resolver with(*idx, Recommends::install);
    with.set_installed(*base);
    REQUIRE(with.install({"app"}));
    CHECK(names(with.marked()) == std::vector<std::string>{"app", "extra"});
    auto listed = bundler::apt::base_set(*idx, false, {"extra"});
    REQUIRE(listed);
    CHECK(names(*listed) == std::vector<std::string>{"extra"});
}

TEST_CASE("The base set takes Priority from the archive: a local repository saying required does not make it base")
{
    // Debian's index (an override) says important; a local repository indexed from the .deb's own control
    // file says required, at the same version. debootstrap reads Debian's: the package is not in the root.
    auto idx = std::make_unique<PackageIndex>("amd64");
    REQUIRE(idx->add(stanza("sensible-utils", "0.0.17", "Priority: required") + stanza("libc", "1", "Priority: required"), 0, "local"));
    REQUIRE(idx->add(stanza("sensible-utils", "0.0.17", "Priority: important") + stanza("libc", "1", "Priority: required") +
                         stanza("ucf", "3", "Depends: sensible-utils"),
                     1, "debian"));
    idx->finish();
    auto base = bundler::apt::base_set(*idx, true, {});
    REQUIRE(base);
    CHECK(names(*base) == std::vector<std::string>{"libc"});
    Resolver r(*idx, Recommends::skip);
    r.set_installed(*base);
    REQUIRE(r.install({"ucf"}));
    CHECK(names(r.marked()) == std::vector<std::string>{"sensible-utils", "ucf"});
}

TEST_CASE("Resolver satisfies virtual packages through providers - versioned Provides and :any")
{
    auto idx = index_of(stanza("app", "1", "Depends: mta, awk (>= 2), perl:any, tool:any") +
                        stanza("exim", "1", "Provides: mta;Priority: standard") + stanza("postfix", "1", "Provides: mta;Priority: optional") +
                        stanza("mawk", "1", "Provides: awk") + stanza("gawk", "1", "Provides: awk (= 5)") +
                        stanza("perl", "5", "Multi-Arch: allowed") + stanza("tool", "1", "Multi-Arch: foreign"));
    Resolver r(*idx, Recommends::skip);
    auto ok = r.install({"app"});
    REQUIRE(!ok); // tool:any cannot be met: tool is not Multi-Arch: allowed
    CHECK(ok.error().message.find("tool:any") != std::string::npos);

    auto idx2 = index_of(stanza("app", "1", "Depends: mta, awk (>= 2), perl:any") +
                         stanza("exim", "1", "Provides: mta;Priority: standard") + stanza("postfix", "1", "Provides: mta;Priority: optional") +
                         stanza("mawk", "1", "Provides: awk") + stanza("gawk", "1", "Provides: awk (= 5)") +
                         stanza("perl", "5", "Multi-Arch: allowed"));
    Resolver r2(*idx2, Recommends::skip);
    REQUIRE(r2.install({"app"}));
    // exim: the better Priority; gawk: only a versioned Provides meets "awk (>= 2)".
    CHECK(names(r2.marked()) == std::vector<std::string>{"app", "exim", "gawk", "perl"});
}

TEST_CASE("Resolver reports a closure that Conflicts make impossible - naming both chains")
{
    auto idx = index_of(stanza("web", "1", "Depends: libold") + stanza("libold", "1") +
                        stanza("db", "1", "Depends: libnew") + stanza("libnew", "1", "Conflicts: libold"));
    Resolver r(*idx, Recommends::skip);
    auto ok = r.install({"web", "db"});
    if (ok) ok = r.check_conflicts();
    REQUIRE(!ok);
    CHECK(ok.error().code == common::Errc::failed_precondition);
    CHECK(ok.error().message.find("libnew") != std::string::npos);
    CHECK(ok.error().message.find("requested db -> libnew") != std::string::npos);
}

TEST_CASE("Resolver names what is missing and refuses an ambiguous virtual package")
{
    auto idx = index_of(stanza("app", "1", "Depends: libx (>= 2)") + stanza("libx", "1") +
                        stanza("a", "1", "Provides: v") + stanza("b", "1", "Provides: v"));
    Resolver r(*idx, Recommends::skip);
    auto ok = r.install({"app"});
    REQUIRE(!ok);
    CHECK(ok.error().message.find("libx (>= 2)") != std::string::npos);
    CHECK(Resolver(*idx, Recommends::skip).install({"nothere"}).error().code == common::Errc::not_found);
    auto ambiguous = Resolver(*idx, Recommends::skip).install({"v"});
    REQUIRE(!ambiguous);
    CHECK(ambiguous.error().message.find("virtual package provided by a, b") != std::string::npos);
}

TEST_CASE("check_not_expired refuses a Release past its Valid-Until")
{
    auto rel = bundler::apt::parse_release("Suite: stable\nValid-Until: Sat, 20 May 2025 08:12:43 UTC\nSHA256:\n " +
                                           std::string(64, 'a') + " 10 main/binary-amd64/Packages\n");
    REQUIRE(rel);
    CHECK(rel->files.size() == 1);
    CHECK(bundler::apt::check_not_expired(*rel, 1747728000 - 86400)); // the day before
    auto late = bundler::apt::check_not_expired(*rel, 1747728000 + 86400);
    REQUIRE(!late);
    CHECK(late.error().message.find("Valid-Until Sat, 20 May 2025") != std::string::npos);
    rel->valid_until.clear();
    CHECK(bundler::apt::check_not_expired(*rel, 2000000000));
}

TEST_SUITE_END();
