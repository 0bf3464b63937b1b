// SPDX-License-Identifier: Apache-2.0
// images.lock, version 1 (written by `bundler lock`, read by `bundler build`): every image the
// components name, pinned by what the registry served. Every digest comes from a registry.
//
//   version: 1
//   images:                         # sorted by ref, one entry per reference as written
//     - ref: busybox:1.36           # as written in the component
//       name: docker.io/library/busybox
//       tag: "1.36"                 # absent for a reference by digest only
//       digest: sha256:<hex>        # what the reference resolved to (an index or a manifest)
//       size: 1234
//       media_type: application/vnd.oci.image.index.v1+json
//       platforms:                  # sorted; the union of the platforms of the profiles locked
//         - platform: linux/arm64/v8
//           manifest: {digest: sha256:<hex>, size: 503, media_type: application/vnd.oci.image.manifest.v1+json}
//           config: {digest: sha256:<hex>, size: 640, media_type: application/vnd.oci.image.config.v1+json}
//           layers:
//             - {digest: sha256:<hex>, size: 5280195, media_type: application/vnd.oci.image.layer.v1.tar+gzip}
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <common/oci/image_manifest.hpp>

namespace common::manifest {

struct ImagesLock {
    // import, airgap and roles are not part of a pin (the components say them) and stay empty here.
    std::vector<oci::LockedImage> images;

    const oci::LockedImage* find(std::string_view ref) const;
    // Replaces (or adds) the pin of image.ref.
    void put(oci::LockedImage image);
    // Sorted, deterministic YAML.
    std::string to_yaml() const;
    // A missing file is an empty lock; errors name file, line and field.
    static Result<ImagesLock> load(const std::filesystem::path& path);
};

// The platform of `image` that serves `want` (Platform::serves), or nullptr.
const oci::ImagePlatform* find_platform(const oci::LockedImage& image, const oci::Platform& want);

} // namespace common::manifest
