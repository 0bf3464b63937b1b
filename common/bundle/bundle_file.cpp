// SPDX-License-Identifier: Apache-2.0
#include <common/bundle/bundle_file.hpp>

#include <common/bundle/signature.hpp>
#include <common/io/verifying_stream.hpp>

#include <algorithm>
#include <set>
#include <vector>

namespace common::bundle {

Result<BundleFile> BundleFile::open(const std::filesystem::path& path)
{
    auto file = io::File::open_read(path.string());
    if (!file) return fail(file.error());
    auto size = file->size();
    if (!size) return fail(size.error());
    if (*size < k_trailer_size)
        return fail(Errc::corrupt, "{}: {} bytes is too short to hold a bundle trailer", path.string(), *size);
    std::array<std::byte, k_trailer_size> raw;
    TRY_VOID(file->pread_exact(raw, *size - k_trailer_size));
    auto trailer = Trailer::decode(raw, *size);
    if (!trailer) return fail(trailer.error().wrap(path.string()));
    return BundleFile(path, std::move(*file), *size, *trailer);
}

Result<void> BundleFile::hash_range(std::uint64_t offset, std::uint64_t size, const digest::Digest& want,
                                    std::string_view what, const Progress& progress) const
{
    io::VerifyingSink hashed;
    std::vector<std::byte> buf(4 << 20);
    for (std::uint64_t done = 0; done < size;) {
        std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(size - done, buf.size()));
        TRY_VOID(m_file.pread_exact(std::span(buf.data(), n), offset + done));
        TRY_VOID(hashed.write(std::span(buf.data(), n)));
        done += n;
        if (progress) progress(done, size);
    }
    digest::Digest got = hashed.finish();
    if (got != want)
        return fail(Errc::digest_mismatch, "{}: {} is damaged: its sha256 is {}, the trailer records {}", m_path.string(), what,
                    got.str(), want.str());
    return {};
}

Result<void> BundleFile::verify_installer(const Progress& progress) const
{
    return hash_range(0, m_trailer.installer_size, m_trailer.installer_sha256, "installer part", progress);
}

Result<void> BundleFile::verify_payload_digest(const Progress& progress) const
{
    return hash_range(m_trailer.payload_offset, m_trailer.payload_size, m_trailer.payload_sha256, "payload", progress);
}

PayloadReader BundleFile::payload(Progress progress) const
{
    return PayloadReader(m_file, m_trailer.payload_offset, m_trailer.payload_size, std::move(progress));
}

namespace {

// Reads the current entry (bundle.json) fully, capped at 16 MiB, and checks it against the trailer.
Result<std::string> read_index_entry(PayloadReader& reader, const PayloadEntry& entry, const Trailer& trailer)
{
    // Refused before reading: the tar header alone may claim gigabytes.
    if (entry.size != trailer.bundle_json_size)
        return fail(Errc::corrupt, "bundle.json: size mismatch: tar size {} bytes, the trailer's bundle_json_size is {} bytes",
                    entry.size, trailer.bundle_json_size);
    if (entry.size > io::k_max_document_bytes)
        return fail(Errc::corrupt, "bundle.json is {} bytes, over the limit of {}", entry.size, io::k_max_document_bytes);
    std::string text(entry.size, '\0');
    auto bytes = std::as_writable_bytes(std::span(text.data(), text.size()));
    for (std::size_t done = 0; done < bytes.size();) {
        auto n = reader.read(bytes.subspan(done));
        if (!n) return fail(n.error());
        if (*n == 0) return fail(Errc::corrupt, "bundle.json ends early");
        done += *n;
    }
    TRY_VOID(store::check_blob("bundle.json", {trailer.bundle_json_sha256, trailer.bundle_json_size},
                               digest::sha256_of(text), text.size()));
    return text;
}

// Moves one entry's bytes through the hash (and the sink, if any); commits the sink only when they match.
Result<void> take_blob(PayloadReader& reader, const PayloadEntry& entry, const store::BlobRef& want, BlobSink* sink,
                       std::vector<std::byte>& buf)
{
    io::VerifyingSink checked(sink, io::Expected{want.digest, want.size}, "payload entry " + entry.path);
    for (;;) {
        auto n = reader.read(buf);
        if (!n) return fail(n.error());
        if (*n == 0) break;
        TRY_VOID(checked.write(std::span<const std::byte>(buf.data(), *n)));
    }
    TRY_VOID(checked.check());
    return sink ? sink->commit() : Result<void>{};
}

} // namespace

std::optional<digest::Digest> BundleFile::signer() const
{
    if (!(m_trailer.flags & k_flag_signed)) return std::nullopt;
    return digest::Digest{m_trailer.signer_fingerprint};
}

Result<void> BundleFile::require_signer(const digest::Digest& trusted) const
{
    std::optional<digest::Digest> got = signer();
    if (!got) return fail(Errc::failed_precondition, "{}: bundle is not signed, but {} is required", m_path.string(), trusted.str());
    if (*got != trusted)
        return fail(Errc::failed_precondition, "{}: bundle is signed by {}, not by the trusted signer {}", m_path.string(),
                    got->str(), trusted.str());
    return {};
}

Result<void> BundleFile::check_signature(const BundleIndex& index) const
{
    bool signed_trailer = (m_trailer.flags & k_flag_signed) != 0;
    if (!signed_trailer) {
        if (index.signer_public_key)
            return fail(Errc::corrupt, "bundle.json names a signer but the trailer carries no signature (stripped?)");
        return {};
    }
    if (!index.signer_public_key) return fail(Errc::corrupt, "the trailer is signed but bundle.json names no signer");
    digest::Digest fpr = digest::sha256_of(std::as_bytes(std::span(*index.signer_public_key)));
    if (fpr.bytes != m_trailer.signer_fingerprint)
        return fail(Errc::corrupt, "the trailer's signer fingerprint {} is not bundle.json's signer {}",
                    digest::Digest{m_trailer.signer_fingerprint}.str(), fpr.str());
    auto raw = m_trailer.encode();
    if (auto ok = verify_signature(*index.signer_public_key, std::span(raw.data(), k_signed_prefix), m_trailer.signature); !ok)
        return fail(ok.error().code, "signature by {} does not verify: the bundle was changed after signing", fpr.str());
    return {};
}

Result<WalkResult> BundleFile::read_first_entry(PayloadReader& reader) const
{
    auto first = reader.next();
    if (!first) return fail(first.error());
    if (!*first) return fail(Errc::corrupt, "payload has no bundle.json");
    auto text = read_index_entry(reader, **first, m_trailer);
    if (!text) return fail(text.error());
    auto index = BundleIndex::parse(*text);
    if (!index) return fail(index.error());
    TRY_VOID(check_signature(*index));
    return WalkResult{std::move(*index), std::move(*text)};
}

Result<BundleIndex> BundleFile::read_index() const
{
    PayloadReader reader = payload();
    auto head = read_first_entry(reader);
    if (!head) {
        // Name the root cause when the payload itself is damaged (as walk() does).
        TRY_VOID(verify_payload_digest());
        return fail(head.error().wrap(m_path.string()));
    }
    return std::move(head->index);
}

Result<BundleIndex> BundleFile::verify_all(const Progress& progress) const
{
    TRY_VOID(verify_installer());
    auto walked = walk(progress, {});
    if (!walked) return fail(walked.error());
    return std::move(walked->index);
}

Result<WalkResult> BundleFile::walk(const Progress& progress, const BlobSinkFactory& sinks) const
{
    auto walked = walk_entries(progress, sinks);
    if (!walked) {
        TRY_VOID(verify_payload_digest());
        return fail(walked.error().wrap(m_path.string()));
    }
    return walked;
}

Result<WalkResult> BundleFile::walk_entries(const Progress& progress, const BlobSinkFactory& sinks) const
{
    PayloadReader reader = payload(progress);
    auto head = read_first_entry(reader);
    if (!head) return fail(head.error());
    BundleIndex* index = &head->index;

    std::set<digest::Digest> seen;
    std::vector<std::byte> buf(1 << 20);
    for (;;) {
        auto entry = reader.next();
        if (!entry) return fail(entry.error());
        if (!*entry) break;
        const std::string& path = (*entry)->path;
        auto d = digest::Digest::from_hex(std::string_view(path).substr(13));
        if (!d) return fail(d.error());
        auto listed = std::lower_bound(index->blobs.begin(), index->blobs.end(), *d,
                                       [](const store::BlobRef& b, const digest::Digest& x) { return b.digest < x; });
        if (listed == index->blobs.end() || listed->digest != *d)
            return fail(Errc::corrupt, "payload entry '{}' is not listed in bundle.json", path);
        // Refused before reading: the tar header alone may claim gigabytes of (cheaply compressed) data.
        if ((*entry)->size != listed->size)
            return fail(Errc::corrupt, "payload entry {}: size mismatch: tar size {} bytes, bundle.json lists {} bytes", path,
                        (*entry)->size, listed->size);
        if (!seen.insert(*d).second) return fail(Errc::corrupt, "payload entry '{}' appears twice", path);
        std::unique_ptr<BlobSink> sink;
        if (sinks) {
            auto made = sinks(*listed);
            if (!made) return fail(made.error());
            sink = std::move(*made);
        }
        TRY_VOID(take_blob(reader, **entry, *listed, sink.get(), buf));
    }
    if (seen.size() != index->blobs.size())
        return fail(Errc::corrupt, "bundle.json lists {} blobs but the payload holds {}", index->blobs.size(), seen.size());
    auto payload_digest = reader.finish();
    if (!payload_digest) return fail(payload_digest.error());
    if (*payload_digest != m_trailer.payload_sha256)
        return fail(Errc::digest_mismatch, "payload is damaged: its sha256 is {}, the trailer records {}",
                    payload_digest->str(), m_trailer.payload_sha256.str());
    return head;
}

} // namespace common::bundle
