// SPDX-License-Identifier: Apache-2.0
// Assembles a .run file, format version 1 (trailer.hpp, docs/bundle-format.md): the bare installer ELF,
// the payload (bundle.json first, then each blob once), and the trailer, signed when a key is given.
// The one writer of the format, beside its reader (bundle_file.hpp).
#pragma once

#include <filesystem>
#include <functional>

#include <common/bundle/bundle_index.hpp>
#include <common/bundle/payload_writer.hpp>
#include <common/bundle/signature.hpp>
#include <common/bundle/trailer.hpp>
#include <common/io/file.hpp>

namespace common::bundle {

// Opens a blob's bytes (the bundler's cache); the writer checks them against the ref as it reads.
using BlobOpener = std::function<Result<io::File>(const store::BlobRef&)>;

struct WriteOptions {
    PayloadWriterOptions payload;
    const SigningKey* key = nullptr;                    // sign the trailer (bundle.json then names the key)
    std::function<void(std::uint64_t blob_bytes)> progress; // blob bytes written so far
};

struct WrittenBundle {
    Trailer trailer;
    digest::Digest file_sha256; // of the whole file, for its .sha256
    std::uint64_t file_size = 0;
};

// Writes [installer][payload][trailer] to `out`. Refuses an installer that is not an ELF or is already a
// bundle (invalid_argument), and a blob whose bytes differ from its ref (naming what `open` returned).
Result<WrittenBundle> write_bundle(const std::filesystem::path& installer, BundleIndex index, const BlobOpener& open,
                                   io::Sink& out, const WriteOptions& options);

} // namespace common::bundle
