// SPDX-License-Identifier: Apache-2.0
// One image as an OCI image-layout archive (a tar of oci-layout, index.json and blobs/sha256/<hex>),
// streamed from the node store: what k3s imports from agent/images/ at every start, and what
// `ctr images import` reads. index.json names the image (io.containerd.image.name) with its original
// name, so it keeps it on the node. Every blob is checked against its digest as it is read.
#pragma once

#include <string>
#include <vector>

#include <common/io/tar_stream.hpp>
#include <common/oci/image_manifest.hpp>
#include <common/store/blob_store.hpp>

namespace installer::phases {

// The archive's entries; blobs opened from `store` when the stream reaches them.
std::vector<common::io::TarEntry> image_archive(const common::oci::LockedImage& image, const common::store::BlobStore& store);

// The name containerd keeps it under: "docker.io/library/busybox:1.36" (or name@digest without a tag).
std::string containerd_name(const common::oci::LockedImage& image);

// A file name for its archive: "docker.io_library_busybox_1.36.tar".
std::string archive_file_name(const common::oci::LockedImage& image);

} // namespace installer::phases
