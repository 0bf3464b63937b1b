// SPDX-License-Identifier: Apache-2.0
// Image references normalised as Docker does it (distribution/reference, ParseNormalizedNamed):
//   reference  = name [":" tag] ["@" digest]
//   name       = [domain "/"] path            domain: first component with "." or ":", or "localhost"
//   no domain  -> "docker.io"; a one-component path on docker.io gets "library/"; "index.docker.io" is docker.io
//   no tag and no digest -> tag "latest"
// So "busybox" is docker.io/library/busybox:latest. Paths are lower case: [a-z0-9]+ joined by ".", "_",
// "__" or "-"+, components joined by "/"; a tag is [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <common/digest/sha256.hpp>

namespace common::oci {

struct Reference {
    std::string domain;                   // "docker.io", "ghcr.io", "127.0.0.1:5000"
    std::string path;                     // "library/busybox"
    std::string tag;                      // "latest"; empty when only a digest was given
    std::optional<digest::Digest> digest; // "name@sha256:..." or "name:tag@sha256:..."

    // invalid_argument naming the reference and what is wrong with it.
    static Result<Reference> parse(std::string_view text);

    std::string name() const { return domain + "/" + path; } // docker.io/library/busybox
    std::string str() const;                                  // name[:tag][@digest]
    // What to ask the registry for: the digest when there is one, else the tag.
    std::string manifest_ref() const { return digest ? digest->str() : tag; }
};

// The base URL serving a domain's /v2/ API: docker.io is served by https://registry-1.docker.io;
// loopback registries (localhost, 127.0.0.0/8, [::1]) by plain http, every other one by https.
std::string registry_url(std::string_view domain);

} // namespace common::oci
