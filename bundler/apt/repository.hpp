// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <ctime>
#include <functional>
#include <string>
#include <vector>

#include <bundler/fetch/fetcher.hpp>
#include <common/deb/control.hpp>
#include <common/manifest/target.hpp>

namespace bundler::apt {

using common::Result;

// An index file listed in a Release file's SHA256 field.
struct IndexFile {
    std::string path; // relative to the suite (or flat repository) folder
    common::store::BlobRef blob;
};

// The signed part of InRelease / Release.
struct Release {
    std::string origin, suite, codename, date, valid_until;
    std::vector<IndexFile> files;
    common::digest::Digest release_sha256; // of the verified Release text, recorded in debs.lock

    const IndexFile* find(std::string_view path) const;
};

// Refuses a Release whose Valid-Until (RFC 2822 date) is before `now`, as apt does: a mirror frozen in
// time could otherwise withhold security updates. A Release without Valid-Until never expires.
Result<void> check_not_expired(const Release& release, std::time_t now);

// Parses Release text (already verified); errors name the line.
Result<Release> parse_release(std::string_view text);

// Checks a clearsigned InRelease or a detached signature with gpgv against one keyring (binary or
// ASCII-armored). Returns the signed text only: nothing outside the signature is ever used.
Result<std::string> verify_clearsigned(const std::string& inrelease, const std::filesystem::path& keyring);
Result<void> verify_detached(const std::string& release, const std::string& signature, const std::filesystem::path& keyring);

// Reads one apt source: Release (signed, checked with its keyring; InRelease first, then Release +
// Release.gpg), then each Packages index for the architecture, the smallest compressed form listed
// (.xz, .gz, then plain), fetched into the cache by the size and sha256 the Release lists.
class RepositoryReader {
public:
    RepositoryReader(fetch::Fetcher& fetcher, const common::store::BlobStore& cache, std::vector<fetch::Mirror> mirrors)
        : m_fetcher(fetcher), m_cache(cache), m_mirrors(std::move(mirrors))
    {
    }

    // The base URL of the folder holding Release and the index paths.
    static std::string dist_url(const common::manifest::AptSource& source);

    Result<Release> read_release(const common::manifest::AptSource& source);
    // Streams every Packages index of the source for arch (one per component; one for a flat repository)
    // into `each`, one stanza at a time: the index is never held whole in memory. Errors name the file.
    Result<void> read_packages(const common::manifest::AptSource& source, const Release& release, const std::string& arch,
                               const common::deb::ParagraphFn& each);

private:
    Result<std::string> fetch_small(const std::string& url);

    fetch::Fetcher& m_fetcher;
    const common::store::BlobStore& m_cache;
    std::vector<fetch::Mirror> m_mirrors;
};

// Decompresses .xz, .gz, .bz2, .lz4, .zst or plain data (by content), handing the text to `each` in
// chunks (64 KiB at most), in order; stops at each's first error.
Result<void> decompress(const std::filesystem::path& file, const std::function<Result<void>(std::string_view)>& each);

// The largest stanza a Packages stream may have (real ones are a few KiB).
constexpr std::size_t k_max_stanza_bytes = 64u << 20;

} // namespace bundler::apt
