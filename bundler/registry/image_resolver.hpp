// SPDX-License-Identifier: Apache-2.0
// From a reference to a pin (`bundler lock`): the tag (or digest) resolved to its top manifest or index,
// the profile's platforms chosen from an index, and each platform's manifest, config and layers.
#pragma once

#include <string>
#include <vector>

#include <bundler/registry/registry_client.hpp>
#include <common/bundle/bundle_index.hpp>

namespace bundler::registry {

// The image platforms a profile's platforms need: Platform::from_dpkg_arch of each arch (os linux;
// arm64 is arm64/v8), each once, in the profile's order.
std::vector<common::oci::Platform> image_platforms(const std::vector<common::bundle::Platform>& platforms);

// For each wanted platform, the index entry that serves it (entries without a platform or for
// "unknown/unknown", such as attestations, never do), each entry once. not_found naming the image, the
// platform and every platform the index has.
Result<std::vector<common::oci::Descriptor>> select_platforms(const common::oci::Manifest& index,
                                                              const std::vector<common::oci::Platform>& want,
                                                              std::string_view image);

// The platform an image config declares (its os, architecture and variant); corrupt when it has none.
Result<common::oci::Platform> config_platform(std::string_view config_json);

// Resolves `manifest_ref` (the reference's tag, or a digest already pinned) of repository `reference`
// to a LockedImage serving every platform of `want`. The manifests and configs read are verified and
// put into the cache, so a build after it fetches only layers. `ref` is the reference as written.
Result<common::oci::LockedImage> resolve_image(RegistryClient& registry, http::Client& client, const std::string& ref,
                                               const common::oci::Reference& reference, std::string_view manifest_ref,
                                               const std::vector<common::oci::Platform>& want,
                                               const common::store::BlobStore& cache);

} // namespace bundler::registry
