// SPDX-License-Identifier: Apache-2.0
#include <bundler/apt/closure.hpp>

#include <algorithm>
#include <ctime>

namespace bundler::apt {

using common::Errc;
using common::fail;

Result<TargetClosure> resolve_target(const common::manifest::Target& target, const std::vector<std::string>& requested,
                                     Recommends recommends, RepositoryReader& reader)
{
    TargetClosure out;
    out.index = std::make_unique<PackageIndex>(target.arch);
    std::vector<std::string> source_urls;
    for (std::size_t i = 0; i < target.sources.size(); ++i) {
        const common::manifest::AptSource& s = target.sources[i];
        std::string what = fmt::format("target {}: source {} ({})", target.name, s.describe(), s.where);
        auto rel = reader.read_release(s);
        if (!rel) return fail(rel.error().wrap(what));
        if (s.check_valid_until) {
            if (auto ok = check_not_expired(*rel, std::time(nullptr)); !ok) return fail(ok.error().wrap(what));
        }
        // Streamed: the index keeps only the fields it uses, never a whole Packages text.
        std::string name = s.describe();
        auto read = reader.read_packages(s, *rel, target.arch, [&](const common::deb::Paragraph& p) {
            return out.index->add_paragraph(p, static_cast<int>(i), name);
        });
        if (!read) return fail(read.error().wrap(what));
        out.sources.push_back({s.describe(), rel->release_sha256.hex(), rel->date});
        source_urls.push_back(s.url);
    }
    out.index->finish();

    auto base = base_set(*out.index, target.base_priority_required, target.base_packages);
    if (!base) return fail(base.error().wrap("target " + target.name));
    out.base = *base;

    Resolver resolver(*out.index, recommends);
    resolver.set_installed(out.base);
    if (auto ok = resolver.install(requested); !ok) return fail(ok.error().wrap("target " + target.name));
    if (auto ok = resolver.check_conflicts(); !ok) return fail(ok.error().wrap("target " + target.name));
    out.packages = resolver.marked();

    out.pins.name = target.name;
    out.pins.requested = requested;
    std::sort(out.pins.requested.begin(), out.pins.requested.end());
    out.pins.sources = out.sources;
    for (const Package* p : out.packages) {
        auto d = common::digest::Digest::from_hex(p->sha256);
        if (!d) return fail(Errc::corrupt, "target {}: {}: no valid SHA256 in its Packages stanza", target.name, p->id());
        if (p->size == 0) return fail(Errc::corrupt, "target {}: {}: no Size in its Packages stanza", target.name, p->id());
        if (p->filename.empty() || p->filename.find("..") != std::string_view::npos || p->filename.starts_with('/'))
            return fail(Errc::corrupt, "target {}: {}: bad Filename '{}'", target.name, p->id(), p->filename);
        out.pins.packages.push_back({std::string(p->name), std::string(p->version), std::string(p->arch), {*d, p->size},
                                     source_urls[static_cast<std::size_t>(p->source)], std::string(p->filename)});
    }
    return out;
}

} // namespace bundler::apt
