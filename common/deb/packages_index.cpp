// SPDX-License-Identifier: Apache-2.0
#include <common/deb/packages_index.hpp>

#include <common/deb/control.hpp>
#include <common/deb/version.hpp>
#include <common/digest/sha256.hpp>
#include <common/io/file.hpp>

#include <archive.h>
#include <archive_entry.h>
#include <lzma.h>
#include <openssl/evp.h>
#include <strings.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <memory>
#include <optional>
#include <span>
#include <tuple>

namespace common::deb {

namespace {

// ---- reading a .deb ------------------------------------------------------------------------------------

struct ArchiveFree {
    void operator()(archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveFree>;

const char* error_of(archive* a)
{
    const char* s = archive_error_string(a);
    return s ? s : "unknown libarchive error";
}

bool is_one_of(std::string_view name, std::initializer_list<std::string_view> names)
{
    return std::find(names.begin(), names.end(), name) != names.end();
}

// The member names apt's debDebFile accepts (apt-pkg/deb/debfile.cc).
bool is_control_member(std::string_view name)
{
    return is_one_of(name, {"control.tar", "control.tar.gz", "control.tar.xz", "control.tar.zst"});
}
bool is_data_member(std::string_view name)
{
    return is_one_of(name, {"data.tar", "data.tar.gz", "data.tar.bz2", "data.tar.lzma", "data.tar.xz", "data.tar.zst"});
}

// Feeds the ar member the outer archive is positioned on to a nested libarchive reader, so control.tar is
// decompressed as it is read, never held whole.
struct MemberFeed {
    archive* outer = nullptr;
    std::array<char, 1 << 16> buf{};
    std::string error; // the outer archive's error, which the inner one would not report
};

la_ssize_t read_member(archive*, void* client, const void** out)
{
    auto* feed = static_cast<MemberFeed*>(client);
    la_ssize_t n = archive_read_data(feed->outer, feed->buf.data(), feed->buf.size());
    if (n < 0) feed->error = error_of(feed->outer);
    *out = feed->buf.data();
    return n;
}

// The bytes of the current entry of `a`, at most k_max_control_bytes.
Result<std::string> read_entry(archive* a, archive_entry* e)
{
    if (archive_entry_size_is_set(e) && static_cast<std::uint64_t>(archive_entry_size(e)) > k_max_control_bytes)
        return fail(Errc::corrupt, "./control is {} bytes, over the limit of {}", archive_entry_size(e), k_max_control_bytes);
    std::string out;
    std::array<char, 1 << 16> buf{};
    for (;;) {
        la_ssize_t n = archive_read_data(a, buf.data(), buf.size());
        if (n < 0) return fail(Errc::corrupt, "read ./control: {}", error_of(a));
        if (n == 0) return out;
        if (out.size() + static_cast<std::size_t>(n) > k_max_control_bytes)
            return fail(Errc::corrupt, "./control is over the limit of {} bytes", k_max_control_bytes);
        out.append(buf.data(), static_cast<std::size_t>(n));
    }
}

// ./control from the control.tar member `outer` is positioned on (`member` names it in errors).
Result<std::string> control_from_member(archive* outer, std::string_view member)
{
    ArchivePtr inner(archive_read_new());
    archive_read_support_filter_gzip(inner.get());
    archive_read_support_filter_xz(inner.get());
    archive_read_support_filter_zstd(inner.get());
    archive_read_support_format_tar(inner.get());
    MemberFeed feed{outer};
    if (archive_read_open(inner.get(), &feed, nullptr, read_member, nullptr) != ARCHIVE_OK)
        return fail(Errc::corrupt, "{}: {}", member, feed.error.empty() ? error_of(inner.get()) : feed.error);
    for (;;) {
        archive_entry* e = nullptr;
        int r = archive_read_next_header(inner.get(), &e);
        if (r == ARCHIVE_EOF) return fail(Errc::invalid_argument, "not a .deb: {} has no ./control", member);
        if (r < ARCHIVE_WARN)
            return fail(Errc::corrupt, "{}: {}", member, feed.error.empty() ? error_of(inner.get()) : feed.error);
        std::string_view name = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
        if (name != "./control" && name != "control") continue;
        if (archive_entry_filetype(e) != AE_IFREG)
            return fail(Errc::invalid_argument, "not a .deb: ./control in {} is not a regular file", member);
        auto text = read_entry(inner.get(), e);
        if (!text) return fail(text.error().wrap(std::string(member)));
        return text;
    }
}

// ---- hashing -------------------------------------------------------------------------------------------

struct MdCtxFree {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

// One OpenSSL digest (MD5, SHA-1, SHA-512: what common/digest does not have), as lowercase hex.
class EvpHash {
public:
    explicit EvpHash(const EVP_MD* md) : m_ctx(EVP_MD_CTX_new()) { EVP_DigestInit_ex(m_ctx.get(), md, nullptr); }
    void update(std::string_view data) { EVP_DigestUpdate(m_ctx.get(), data.data(), data.size()); }
    std::string hex()
    {
        std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
        unsigned int len = 0;
        EVP_DigestFinal_ex(m_ctx.get(), md.data(), &len);
        static constexpr char k_hex[] = "0123456789abcdef";
        std::string out;
        for (unsigned int i = 0; i < len; ++i) {
            out += k_hex[md[i] >> 4];
            out += k_hex[md[i] & 0xf];
        }
        return out;
    }

private:
    std::unique_ptr<EVP_MD_CTX, MdCtxFree> m_ctx;
};

bool is_hex(std::string_view s, std::size_t want)
{
    return s.size() == want && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

Result<void> check_file_info(const DebFileInfo& f)
{
    if (f.filename.empty()) return fail(Errc::invalid_argument, "empty Filename");
    if (f.filename.find_first_of("\r\n") != std::string::npos)
        return fail(Errc::invalid_argument, "Filename '{}' has a line break", f.filename);
    const std::tuple<std::string_view, const std::string&, std::size_t> hashes[] = {
        {"MD5sum", f.md5, 32}, {"SHA1", f.sha1, 40}, {"SHA256", f.sha256, 64}, {"SHA512", f.sha512, 128}};
    for (const auto& [field, value, digits] : hashes)
        if (!value.empty() && !is_hex(value, digits))
            return fail(Errc::invalid_argument, "{} '{}' of {}: want {} lowercase hex digits", field, value, f.filename, digits);
    return {};
}

// ---- the stanza ----------------------------------------------------------------------------------------

// apt's TFRewritePackageOrder (apt-pkg/tagfile-order.c, the same from apt 2.6 to 3.0): listed fields are
// written in this order and with this spelling; the others follow in the control's order.
constexpr std::string_view k_field_order[] = {
    "Package", "Package-Type", "Architecture", "Subarchitecture", "Version", "Kernel-Version", "Built-Using",
    "Static-Built-Using", "Built-For-Profiles", "Auto-Built-Package", "Multi-Arch", "Status", "Priority",
    "Build-Essential", "Protected", "Important", "Essential", "Installer-Menu-Item", "Section", "Source", "Origin",
    "Phased-Update-Percentage", "Maintainer", "Original-Maintainer", "Bugs", "Config-Version", "Conffiles",
    "Triggers-Awaited", "Triggers-Pending", "Installed-Size", "Provides", "Pre-Depends", "Depends", "Recommends",
    "Suggests", "Conflicts", "Breaks", "Replaces", "Enhances", "Filename", "MSDOS-Filename", "Size", "MD5sum",
    "SHA1", "SHA256", "SHA512", "Homepage", "Description", "Description-md5", "Tag", "Task",
};

bool same_name(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

bool is_ordered(std::string_view name)
{
    return std::any_of(std::begin(k_field_order), std::end(k_field_order), [&](std::string_view o) { return same_name(o, name); });
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// A control field as apt's pkgTagSection holds it: the name without the blanks before its colon, and the raw
// value (everything after the colon up to the next field, trailing whitespace dropped: FindRaw).
struct RawField {
    std::string_view name;
    std::string_view raw;
};

// The value apt's Find gives (what apt-ftparchive rewrites Priority and Section with): the raw value without
// its leading blanks, stopping at a line break that no continuation line follows.
std::string_view find_value(std::string_view raw)
{
    std::size_t i = 0;
    for (; i < raw.size() && is_space(raw[i]); ++i)
        if (raw[i] == '\n' && (i + 1 >= raw.size() || raw[i + 1] != ' ')) break;
    return raw.substr(i);
}

// Splits the control text (one deb822 paragraph, read by common/deb/control) into raw fields viewing `text`.
// `text` must end with a blank line, so the reader hands out views into it rather than into its own buffer.
Result<std::vector<RawField>> raw_fields(std::string_view text)
{
    std::vector<RawField> fields;
    std::size_t paragraphs = 0;
    const char* const begin = text.data();
    const char* const end = text.data() + text.size();
    auto each = [&](const Paragraph& p) -> Result<void> {
        if (++paragraphs > 1) return fail(Errc::invalid_argument, "line {}: a second paragraph; a control file has one", p.line);
        for (const Field& f : p.fields) {
            const char* colon = f.name.data() + f.name.size();
            const char* value_end = f.value.data() + f.value.size();
            if (f.name.data() < begin || value_end > end || colon >= end || *colon != ':')
                return fail(Errc::failed_precondition, "control reader did not view the text it was given");
            std::string_view name = f.name;
            while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
            for (const RawField& seen : fields)
                if (same_name(seen.name, name)) return fail(Errc::invalid_argument, "line {}: field {} appears twice", p.line, name);
            fields.push_back({name, std::string_view(colon + 1, static_cast<std::size_t>(std::max(value_end, colon + 1) - (colon + 1)))});
        }
        return {};
    };
    TRY_VOID(for_each_paragraph(text, each));
    if (fields.empty()) return fail(Errc::invalid_argument, "the control file has no fields");
    return fields;
}

// A comment line: the deb822 reader would skip it, apt would read it as a field; dpkg writes none.
Result<void> refuse_comments(std::string_view text)
{
    std::size_t line = 1;
    for (std::size_t pos = 0; pos < text.size(); ++line) {
        if (text[pos] == '#') return fail(Errc::invalid_argument, "line {}: a comment line in a control file", line);
        std::size_t eol = text.find('\n', pos);
        if (eol == std::string_view::npos) break;
        pos = eol + 1;
    }
    return {};
}

// A field rewritten or removed (empty value) by apt-ftparchive, as its PackagesWriter::DoPackage lists them.
struct Rewrite {
    std::string_view name;
    std::string value; // empty: the field is removed
};

const Rewrite* find_rewrite(const std::vector<Rewrite>& rewrites, std::string_view name)
{
    for (const Rewrite& r : rewrites)
        if (same_name(r.name, name)) return &r;
    return nullptr;
}

const RawField* find_field(const std::vector<RawField>& fields, std::string_view name)
{
    for (const RawField& f : fields)
        if (same_name(f.name, name)) return &f;
    return nullptr;
}

// apt's WriteTag: "Name: value", or "Name:value" when the value is empty or starts with whitespace.
void write_field(std::string& out, std::string_view name, std::string_view value)
{
    out.append(name);
    out.append(value.empty() || is_space(value.front()) ? ":" : ": ");
    out.append(value);
    out.push_back('\n');
}

std::vector<Rewrite> rewrites_for(const std::vector<RawField>& fields, const DebFileInfo& file)
{
    auto found = [&](std::string_view name) {
        const RawField* f = find_field(fields, name);
        return f ? std::string(find_value(f->raw)) : std::string();
    };
    std::vector<Rewrite> r;
    r.push_back({"Size", std::to_string(file.size)});
    // An empty hash adds no rewrite (the control's own field, if any, stays), as with the hash switched off.
    for (const auto& [name, value] : {std::pair<std::string_view, const std::string&>{"MD5sum", file.md5},
                                      {"SHA1", file.sha1}, {"SHA256", file.sha256}, {"SHA512", file.sha512}})
        if (!value.empty()) r.push_back({name, value});
    r.push_back({"Filename", file.filename});
    r.push_back({"Priority", found("Priority")});
    r.push_back({"Status", ""});
    r.push_back({"Section", found("Section")}); // the override apt makes up when there is no override file
    return r;
}

} // namespace

Result<std::string> read_control(const std::filesystem::path& deb)
{
    auto context = [&](const Error& e) { return fail(e.wrap(fmt::format("read control of {}", deb.string()))); };
    auto file = io::File::open_read(deb.string());
    if (!file) return fail(file.error());
    ArchivePtr outer(archive_read_new());
    archive_read_support_format_ar(outer.get());
    if (archive_read_open_fd(outer.get(), file->fd(), 1 << 16) != ARCHIVE_OK)
        return context({Errc::invalid_argument, fmt::format("not a .deb: {}", error_of(outer.get()))});
    bool any = false, binary = false, data = false;
    std::optional<std::string> control;
    for (;;) {
        archive_entry* e = nullptr;
        int r = archive_read_next_header(outer.get(), &e);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN) {
            Errc code = any ? Errc::corrupt : Errc::invalid_argument; // not even one member: not an ar archive
            return context({code, fmt::format("{}{}", any ? "" : "not a .deb: ", error_of(outer.get()))});
        }
        any = true;
        std::string_view name = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
        if (name == "debian-binary") binary = true;
        if (is_data_member(name)) data = true;
        if (!control && is_control_member(name)) {
            auto text = control_from_member(outer.get(), name);
            if (!text) return context(text.error());
            control = std::move(*text);
        }
    }
    for (const auto& [have, member] : {std::pair{binary, "debian-binary"}, {control.has_value(), "control.tar"}, {data, "data.tar"}})
        if (!have) return context({Errc::invalid_argument, fmt::format("not a .deb: no {} member", member)});
    return std::move(*control);
}

Result<DebFileInfo> deb_file_info(const std::filesystem::path& deb, std::string filename)
{
    auto file = io::File::open_read(deb.string());
    if (!file) return fail(file.error());
    digest::Sha256 sha256;
    EvpHash md5(EVP_md5()), sha1(EVP_sha1()), sha512(EVP_sha512());
    DebFileInfo info{std::move(filename)};
    std::string buf(1 << 20, '\0');
    for (;;) {
        auto n = file->read(std::as_writable_bytes(std::span(buf.data(), buf.size())));
        if (!n) return fail(n.error().wrap(fmt::format("hash {}", deb.string())));
        if (*n == 0) break;
        std::string_view chunk(buf.data(), *n);
        sha256.update(chunk);
        md5.update(chunk);
        sha1.update(chunk);
        sha512.update(chunk);
        info.size += *n;
    }
    info.md5 = md5.hex();
    info.sha1 = sha1.hex();
    info.sha256 = sha256.finish().hex();
    info.sha512 = sha512.hex();
    return info;
}

Result<std::string> packages_stanza(std::string_view control, const DebFileInfo& file)
{
    auto context = [&](const Error& e) { return fail(e.wrap(fmt::format("packages stanza for {}", file.filename))); };
    if (auto ok = check_file_info(file); !ok) return context(ok.error());
    if (auto ok = refuse_comments(control); !ok) return context(ok.error());
    std::string text(control);
    text.append(text.ends_with('\n') ? "\n" : "\n\n"); // a closing blank line: see raw_fields
    auto fields = raw_fields(text);
    if (!fields) return context(fields.error());
    if (const RawField* p = find_field(*fields, "Package"); !p || find_value(p->raw).empty())
        return context({Errc::invalid_argument, "the control file has no Package field"});
    std::vector<Rewrite> rewrites = rewrites_for(*fields, file);

    // apt's pkgTagSection::Write: the listed fields in order (a rewrite wins, an empty one drops the field),
    // then the unlisted ones in control order. Every rewrite names a listed field, so none is left over.
    std::string out;
    for (std::string_view name : k_field_order) {
        if (const Rewrite* r = find_rewrite(rewrites, name)) {
            if (!r->value.empty()) write_field(out, name, r->value);
        } else if (const RawField* f = find_field(*fields, name)) {
            write_field(out, name, f->raw);
        }
    }
    for (const RawField& f : *fields)
        if (!is_ordered(f.name)) write_field(out, f.name, f.raw);
    return out;
}

std::string packages_file(std::vector<std::string> stanzas)
{
    struct Keyed {
        std::string package, version, filename, text;
    };
    std::vector<Keyed> keyed;
    keyed.reserve(stanzas.size());
    for (std::string& s : stanzas) {
        while (s.ends_with('\n')) s.pop_back();
        s.push_back('\n');
        Keyed k;
        // Our own stanzas always parse; text that does not has empty keys and sorts by its text, first.
        (void)for_each_paragraph(s, [&](const Paragraph& p) -> Result<void> {
            if (!k.package.empty()) return {};
            k.package = p.get("Package");
            k.version = p.get("Version");
            k.filename = p.get("Filename");
            return {};
        });
        k.text = std::move(s);
        keyed.push_back(std::move(k));
    }
    std::sort(keyed.begin(), keyed.end(), [](const Keyed& a, const Keyed& b) {
        if (a.package != b.package) return a.package < b.package;
        if (int c = compare_versions(a.version, b.version); c != 0) return c < 0;
        if (a.filename != b.filename) return a.filename < b.filename;
        return a.text < b.text;
    });
    std::string out;
    for (const Keyed& k : keyed) {
        out += k.text;
        out += '\n';
    }
    return out;
}

Result<std::string> gzip_bytes(std::string_view data)
{
    z_stream z{};
    // windowBits 15 + 16: a gzip wrapper; memLevel 8 is zlib's (and gzip's) default.
    if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return fail(Errc::io, "gzip: deflateInit2 failed");
    struct End {
        z_stream* z;
        ~End() { deflateEnd(z); }
    } end{&z};
    gz_header header{}; // no name, no comment, no extra field, mtime 0
    header.os = 3;      // Unix, whatever zlib was built for
    if (deflateSetHeader(&z, &header) != Z_OK) return fail(Errc::io, "gzip: deflateSetHeader failed");
    std::string out;
    std::array<unsigned char, 1 << 16> buf{};
    std::size_t fed = 0;
    int r = Z_OK;
    while (r != Z_STREAM_END) {
        if (z.avail_in == 0 && fed < data.size()) {
            std::size_t n = std::min<std::size_t>(data.size() - fed, 1u << 30);
            z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data() + fed));
            z.avail_in = static_cast<uInt>(n);
            fed += n;
        }
        z.next_out = buf.data();
        z.avail_out = static_cast<uInt>(buf.size());
        r = deflate(&z, fed == data.size() ? Z_FINISH : Z_NO_FLUSH);
        if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR) return fail(Errc::io, "gzip: deflate failed ({})", r);
        out.append(reinterpret_cast<const char*>(buf.data()), buf.size() - z.avail_out);
    }
    return out;
}

Result<std::string> xz_bytes(std::string_view data)
{
    lzma_stream s = LZMA_STREAM_INIT;
    if (lzma_easy_encoder(&s, 6, LZMA_CHECK_CRC64) != LZMA_OK) return fail(Errc::io, "xz: lzma_easy_encoder failed");
    struct End {
        lzma_stream* s;
        ~End() { lzma_end(s); }
    } end{&s};
    s.next_in = reinterpret_cast<const std::uint8_t*>(data.data());
    s.avail_in = data.size();
    std::string out;
    std::array<std::uint8_t, 1 << 16> buf{};
    for (;;) {
        s.next_out = buf.data();
        s.avail_out = buf.size();
        lzma_ret r = lzma_code(&s, LZMA_FINISH);
        out.append(reinterpret_cast<const char*>(buf.data()), buf.size() - s.avail_out);
        if (r == LZMA_STREAM_END) return out;
        if (r != LZMA_OK) return fail(Errc::io, "xz: lzma_code failed ({})", static_cast<int>(r));
    }
}

} // namespace common::deb
