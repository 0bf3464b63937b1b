// SPDX-License-Identifier: Apache-2.0
#include <bundler/apt/repository.hpp>

#include <common/deb/control.hpp>
#include <common/io/file.hpp>
#include <common/io/string_stream.hpp>
#include <common/util/process.hpp>

#include <archive.h>
#include <archive_entry.h>

#include <cstdlib>
#include <optional>
#include <sstream>

namespace bundler::apt {

namespace fs = std::filesystem;
using common::Errc;
using common::fail;

namespace {

// A private temporary folder, removed with everything in it.
struct TempDir {
    fs::path path;
    TempDir()
    {
        std::string templ = (fs::temp_directory_path() / "bundler-gpg.XXXXXX").string();
        if (::mkdtemp(templ.data())) path = templ;
    }
    ~TempDir()
    {
        std::error_code ec;
        if (!path.empty()) fs::remove_all(path, ec);
    }
};

// A file in our private temporary folder, for gpgv to read: no rename dance needed (nobody else looks).
Result<void> write_private(const fs::path& path, std::string_view text)
{
    auto file = common::io::File::create(path.string(), 0600);
    if (!file) return fail(file.error());
    TRY_VOID(file->write(std::as_bytes(std::span(text.data(), text.size()))));
    return file->close();
}

// gpgv wants a binary keyring; an armored key file is converted first.
Result<fs::path> binary_keyring(const fs::path& keyring, const TempDir& tmp)
{
    auto head = common::io::read_file(keyring, 64u << 20);
    if (!head) return fail(head.error().wrap("keyring"));
    if (!head->starts_with("-----BEGIN PGP")) return keyring;
    fs::path out = tmp.path / "keyring.gpg";
    auto r = common::run_process({"gpg", "--batch", "--quiet", "--homedir", tmp.path.string(), "--dearmor", "--output",
                                  out.string(), keyring.string()});
    if (!r) return fail(r.error());
    if (r->exit_code != 0) return fail(Errc::invalid_argument, "keyring {}: gpg --dearmor failed: {}", keyring.string(), r->output);
    return out;
}

Result<std::string> run_gpgv(const std::vector<std::string>& files, const fs::path& keyring, const TempDir& tmp,
                             bool want_output)
{
    if (tmp.path.empty()) return fail(Errc::io, "cannot create a temporary folder for gpgv");
    std::error_code ec;
    if (!fs::exists(keyring, ec)) return fail(Errc::not_found, "keyring {} does not exist", keyring.string());
    auto bin = binary_keyring(keyring, tmp);
    if (!bin) return fail(bin.error());
    std::vector<std::string> argv{"gpgv", "--homedir", tmp.path.string(), "--keyring", fs::absolute(*bin).string()};
    fs::path out = tmp.path / "signed.txt";
    if (want_output) argv.insert(argv.end(), {"--output", out.string()});
    argv.insert(argv.end(), files.begin(), files.end());
    auto r = common::run_process(argv);
    if (!r) return fail(r.error());
    if (r->exit_code != 0) {
        std::string why = r->output;
        while (!why.empty() && why.back() == '\n') why.pop_back();
        return fail(Errc::digest_mismatch, "signature check failed (gpgv, keyring {}): {}", keyring.string(), why);
    }
    if (!want_output) return std::string{};
    auto text = common::io::read_file(out, 256u << 20);
    if (!text) return fail(text.error());
    return *text;
}

} // namespace

const IndexFile* Release::find(std::string_view path) const
{
    for (const IndexFile& f : files)
        if (f.path == path) return &f;
    return nullptr;
}

Result<void> check_not_expired(const Release& rel, std::time_t now)
{
    if (rel.valid_until.empty()) return {};
    std::tm tm{};
    const char* end = ::strptime(rel.valid_until.c_str(), "%a, %d %b %Y %H:%M:%S", &tm);
    if (!end) return fail(Errc::corrupt, "Release Valid-Until '{}' is not a date", rel.valid_until);
    std::time_t until = ::timegm(&tm);
    if (until < now)
        return fail(Errc::failed_precondition,
                    "Release expired (Valid-Until {}); use a current mirror, or set check_valid_until: false for this source",
                    rel.valid_until);
    return {};
}

Result<Release> parse_release(std::string_view text)
{
    Release rel;
    bool seen = false;
    auto r = common::deb::for_each_paragraph(text, [&](const common::deb::Paragraph& p) -> Result<void> {
        if (seen) return {}; // a Release has one paragraph
        seen = true;
        rel.origin = std::string(p.get("Origin"));
        rel.suite = std::string(p.get("Suite"));
        rel.codename = std::string(p.get("Codename"));
        rel.date = std::string(p.get("Date"));
        rel.valid_until = std::string(p.get("Valid-Until"));
        for (std::string_view line : common::deb::value_lines(p.get("SHA256"))) {
            std::istringstream in{std::string(line)};
            std::string hex, path;
            std::uint64_t size = 0;
            if (!(in >> hex >> size >> path))
                return fail(Errc::corrupt, "SHA256 line '{}': want '<sha256> <size> <path>'", line);
            auto d = common::digest::Digest::from_hex(hex);
            if (!d) return fail(Errc::corrupt, "SHA256 line '{}': {}", line, d.error().message);
            rel.files.push_back({path, {*d, size}});
        }
        return {};
    });
    if (!r) return fail(r.error());
    if (!seen) return fail(Errc::corrupt, "Release is empty");
    if (rel.files.empty()) return fail(Errc::corrupt, "Release has no SHA256 field (apt requires SHA256)");
    rel.release_sha256 = common::digest::sha256_of(text);
    return rel;
}

Result<std::string> verify_clearsigned(const std::string& inrelease, const fs::path& keyring)
{
    TempDir tmp;
    if (tmp.path.empty()) return fail(Errc::io, "cannot create a temporary folder for gpgv");
    fs::path in = tmp.path / "InRelease";
    TRY_VOID(write_private(in, inrelease));
    return run_gpgv({in.string()}, keyring, tmp, true);
}

Result<void> verify_detached(const std::string& release, const std::string& signature, const fs::path& keyring)
{
    TempDir tmp;
    if (tmp.path.empty()) return fail(Errc::io, "cannot create a temporary folder for gpgv");
    TRY_VOID(write_private(tmp.path / "Release", release));
    TRY_VOID(write_private(tmp.path / "Release.gpg", signature));
    auto r = run_gpgv({(tmp.path / "Release.gpg").string(), (tmp.path / "Release").string()}, keyring, tmp, false);
    if (!r) return fail(r.error());
    return {};
}

std::string RepositoryReader::dist_url(const common::manifest::AptSource& s)
{
    return s.flat ? s.url : s.url + "/dists/" + s.suite;
}

Result<std::string> RepositoryReader::fetch_small(const std::string& url)
{
    common::io::StringSink sink(64u << 20, "response of " + url);
    std::string effective = fetch::apply_mirrors(url, m_mirrors);
    if (auto r = m_fetcher.fetch(effective, sink); !r) return fail(r.error());
    return sink.take();
}

Result<Release> RepositoryReader::read_release(const common::manifest::AptSource& s)
{
    std::string base = dist_url(s);
    std::string signed_text;
    auto inrelease = fetch_small(base + "/InRelease");
    if (inrelease) {
        auto text = verify_clearsigned(*inrelease, s.keyring);
        if (!text) return fail(text.error().wrap(base + "/InRelease"));
        signed_text = std::move(*text);
    } else if (inrelease.error().code == Errc::not_found) {
        auto release = fetch_small(base + "/Release");
        if (!release) return fail(release.error().wrap("fetch " + base + "/Release"));
        auto sig = fetch_small(base + "/Release.gpg");
        if (!sig) {
            if (sig.error().code == Errc::not_found)
                return fail(Errc::failed_precondition, "{}/Release is not signed (no InRelease, no Release.gpg); refusing an unsigned repository", base);
            return fail(sig.error().wrap("fetch " + base + "/Release.gpg"));
        }
        if (auto ok = verify_detached(*release, *sig, s.keyring); !ok) return fail(ok.error().wrap(base + "/Release"));
        signed_text = std::move(*release);
    } else {
        return fail(inrelease.error().wrap("fetch " + base + "/InRelease"));
    }
    auto rel = parse_release(signed_text);
    if (!rel) return fail(rel.error().wrap(base + "/Release"));
    return rel;
}

Result<void> RepositoryReader::read_packages(const common::manifest::AptSource& s, const Release& rel, const std::string& arch,
                                             const common::deb::ParagraphFn& each)
{
    std::vector<std::string> prefixes;
    if (s.flat) prefixes.push_back("");
    else
        for (const std::string& c : s.components) prefixes.push_back(c + "/binary-" + arch + "/");
    for (const std::string& prefix : prefixes) {
        // The smallest form first; a mirror that lacks one (404) gets the next one the Release lists.
        std::string where = dist_url(s) + "/" + prefix + "Packages";
        std::optional<common::Error> last;
        const IndexFile* got = nullptr;
        for (const char* ext : {".xz", ".gz", ""}) {
            const IndexFile* listed = rel.find(prefix + "Packages" + ext);
            if (!listed) continue;
            // The Release's size and sha256 pin the index: fetch_pinned refuses anything else.
            auto ok = fetch::fetch_pinned(m_fetcher, m_cache, dist_url(s) + "/" + listed->path, m_mirrors, listed->blob);
            if (ok) {
                got = listed;
                break;
            }
            last = ok.error();
            if (ok.error().code != Errc::not_found) break;
        }
        if (!got && !last) return fail(Errc::not_found, "{}: not listed in Release (wrong component or architecture?)", where);
        if (!got) return fail(*last);
        // Decompressed a chunk at a time into the stanza reader: only the stanza being read is buffered.
        common::deb::ParagraphReader reader(each, k_max_stanza_bytes);
        auto ok = decompress(m_cache.blob_path(got->blob.digest), [&](std::string_view chunk) { return reader.feed(chunk); });
        if (ok) ok = reader.finish();
        if (!ok) {
            common::Error e = ok.error();
            if (e.code == Errc::invalid_argument) e.code = Errc::corrupt; // the text itself is malformed
            return fail(e.wrap(dist_url(s) + "/" + got->path));
        }
    }
    return {};
}

Result<void> decompress(const fs::path& file, const std::function<Result<void>(std::string_view)>& each)
{
    archive* a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_raw(a);
    struct Free {
        archive* a;
        ~Free() { archive_read_free(a); }
    } guard{a};
    if (archive_read_open_filename(a, file.c_str(), 1 << 20) != ARCHIVE_OK)
        return fail(Errc::corrupt, "open {}: {}", file.string(), archive_error_string(a));
    archive_entry* e = nullptr;
    if (archive_read_next_header(a, &e) != ARCHIVE_OK)
        return fail(Errc::corrupt, "read {}: {}", file.string(), archive_error_string(a));
    std::vector<char> buf(1 << 16);
    for (;;) {
        la_ssize_t n = archive_read_data(a, buf.data(), buf.size());
        if (n < 0) return fail(Errc::corrupt, "decompress {}: {}", file.string(), archive_error_string(a));
        if (n == 0) return {};
        TRY_VOID(each(std::string_view(buf.data(), static_cast<std::size_t>(n))));
    }
}

} // namespace bundler::apt
