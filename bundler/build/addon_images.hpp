// SPDX-License-Identifier: Apache-2.0
// The images an addon names, read at build time so that `bundler build` refuses an addon whose images
// the bundle does not carry (a node behind an air gap has no other registry to pull them from).
//
// A manifest: every `image:` key with a plain value, in every YAML document of the file.
// A chart (.tgz, the chart at its top folder; subcharts under charts/ are not read):
//   - its values.yaml with the component's values over it (merged key by key, as helm does): every
//     `image:` that is a string, and every `image:` map with `repository` (and `registry`, `tag`,
//     `digest`: registry/repository:tag or @digest; an empty tag is the chart's appVersion, the common
//     convention `.Values.image.tag | default .Chart.AppVersion`);
//   - its templates: every `image:` line whose value has no template expression.
// A chart that computes its images otherwise lists them in the component (`images:` of the addon),
// which then replaces what is read here.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <common/bundle/bundle_index.hpp>
#include <common/manifest/manifests.hpp>
#include <common/store/blob_store.hpp>

namespace bundler::build {

using common::Result;

// The images a manifest (one or more YAML documents) names, in order, each once.
Result<std::vector<std::string>> manifest_images(std::string_view yaml);

// The images a chart names, given the values put over its own (empty: none), in order, each once.
Result<std::vector<std::string>> chart_images(std::span<const std::byte> tgz, std::string_view values);

// Whether `ref` (as an addon writes it) is one of the images: the same repository with the same tag, or,
// when it names a digest, an index or manifest digest the bundle pinned for that repository.
bool carries_image(const std::vector<common::oci::LockedImage>& images, std::string_view ref);

// Every addon's images against the bundle's (addon blobs read from the cache); failed_precondition
// naming each addon, where it is declared, and the images missing, all at once.
Result<void> check_addon_images(const common::manifest::Manifests& manifests, const common::bundle::BundleIndex& index,
                                const common::store::BlobStore& cache);

} // namespace bundler::build
