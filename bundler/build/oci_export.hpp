// SPDX-License-Identifier: Apache-2.0
// `bundler export --oci DIR FILE.run`: the images a bundle carries, as an OCI image layout (image-spec
// v1.1 "oci-layout" 1.0.0): DIR/oci-layout, DIR/index.json (one entry per image, its top manifest or
// index, named by org.opencontainers.image.ref.name = "<name>:<tag>", or "<name>@<digest>" without a
// tag) and DIR/blobs/sha256/<hex>. Read from the .run itself, every byte checked on the way, so what is
// exported is what the nodes get. `skopeo copy oci:DIR:docker.io/library/busybox:1.36 ...` reads it.
#pragma once

#include <filesystem>

#include <common/util/error.hpp>

namespace bundler::build {

using common::Result;

struct ExportReport {
    std::size_t images = 0;
    std::size_t blobs = 0;
    std::uint64_t bytes = 0;
};

// Writes the layout into `dir` (created; it must be absent or empty). Fails with the bundle's own
// verification errors when the .run is damaged (then the blobs written so far are left, the index not).
Result<ExportReport> export_oci(const std::filesystem::path& bundle, const std::filesystem::path& dir);

} // namespace bundler::build
