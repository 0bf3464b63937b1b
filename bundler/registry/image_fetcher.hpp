// SPDX-License-Identifier: Apache-2.0
// `bundler build`'s image downloads: every pinned blob by digest (manifests from /manifests/<digest>,
// configs and layers from /blobs/<digest>), each digest once, `jobs` transfers at a time.
#pragma once

#include <string>
#include <vector>

#include <bundler/registry/registry_client.hpp>

namespace bundler::registry {

struct ImageBlob {
    common::oci::Reference repo;           // a repository that serves it (the first image naming it)
    common::oci::Descriptor descriptor;
    Kind kind = Kind::blob;
};

// Every blob of the images, each digest once, in the order the images name them.
std::vector<ImageBlob> image_blobs(const std::vector<common::oci::LockedImage>& images);

struct FetchReport {
    std::size_t blobs = 0;         // distinct blobs the images need
    std::size_t fetched = 0;       // of those, how many were not in the cache yet
    std::uint64_t fetched_bytes = 0;
};

// Puts every blob of the images into the cache, verified; never resolves a tag. Progress on stderr.
// The first failure (by blob order) is returned, naming the image's blob.
Result<FetchReport> fetch_images(RegistryClient& registry, const std::vector<common::oci::LockedImage>& images,
                                 const common::store::BlobStore& cache);

} // namespace bundler::registry
