// SPDX-License-Identifier: Apache-2.0
#include <common/bundle/bundle_writer.hpp>

#include <common/bundle/bundle_file.hpp>
#include <common/io/string_stream.hpp>
#include <common/io/verifying_stream.hpp>

#include <cstring>

namespace common::bundle {

namespace {

// The bare installer ELF; a .run given as the installer would nest bundles.
Result<void> copy_installer(const std::filesystem::path& installer, io::Sink& out)
{
    auto file = io::File::open_read(installer.string());
    if (!file) return fail(file.error().wrap("read the installer (see --installer)"));
    if (BundleFile::open(installer))
        return fail(Errc::invalid_argument, "{} is already a bundle, not the bare installer", installer.string());
    std::array<std::byte, 4> magic{};
    if (!file->pread_exact(magic, 0) || std::memcmp(magic.data(), "\x7f" "ELF", 4) != 0)
        return fail(Errc::invalid_argument, "{} is not an ELF executable", installer.string());
    auto copied = io::copy(*file, out);
    if (!copied) return fail(copied.error());
    return {};
}

} // namespace

Result<WrittenBundle> write_bundle(const std::filesystem::path& installer, BundleIndex index, const BlobOpener& open,
                                   io::Sink& out, const WriteOptions& o)
{
    // 1. The installer, hashed on its way out, as the whole file is.
    io::VerifyingSink whole(&out);
    io::VerifyingSink installer_part(&whole);
    TRY_VOID(copy_installer(installer, installer_part));
    Trailer trailer;
    trailer.installer_size = installer_part.count();
    trailer.installer_sha256 = installer_part.finish();
    trailer.payload_offset = trailer.installer_size;

    // 2. The payload: bundle.json, then every blob once, each read through a check of its digest.
    if (o.key) index.signer_public_key = o.key->public_key();
    std::string json = index.to_json();
    trailer.bundle_json_size = json.size();
    trailer.bundle_json_sha256 = digest::sha256_of(json);
    io::VerifyingSink payload(&whole);
    auto writer = PayloadWriter::open(payload, o.payload);
    if (!writer) return fail(writer.error());
    io::StringSource json_source(json);
    TRY_VOID(writer->add("bundle.json", json.size(), json_source));
    std::uint64_t done = 0;
    for (const store::BlobRef& blob : index.blobs) {
        auto file = open(blob);
        if (!file) return fail(file.error());
        io::VerifyingSource checked(*file, {blob.digest, blob.size}, file->path());
        TRY_VOID(writer->add("blobs/sha256/" + blob.digest.hex(), blob.size, checked));
        done += blob.size;
        if (o.progress) o.progress(done);
    }
    TRY_VOID(writer->finish());
    trailer.payload_size = payload.count();
    trailer.payload_sha256 = payload.finish();

    // 3. The trailer; a signature covers trailer [0, 152): every digest, so every byte of the file.
    if (o.key) {
        trailer.flags = k_flag_signed;
        trailer.signer_fingerprint = o.key->fingerprint().bytes;
        auto prefix = trailer.encode();
        auto sig = o.key->sign(std::span(prefix.data(), k_signed_prefix));
        if (!sig) return fail(sig.error());
        trailer.signature = *sig;
    }
    auto raw = trailer.encode();
    TRY_VOID(whole.write(raw));
    std::uint64_t size = whole.count();
    return WrittenBundle{trailer, whole.finish(), size};
}

} // namespace common::bundle
