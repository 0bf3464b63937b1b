// SPDX-License-Identifier: Apache-2.0
#include <bundler/build/plan.hpp>

#include <bundler/build/builder.hpp>
#include <bundler/registry/image_resolver.hpp>
#include <common/manifest/target.hpp>
#include <common/util/progress.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace bundler::build {

namespace {

namespace manifest = common::manifest;
using common::fail;

std::string roles_of(const std::vector<std::string>& roles) { return roles.empty() ? "every role" : fmt::format("{}", fmt::join(roles, ", ")); }

// Bytes of an image's blobs for the platforms wanted (its top once).
std::uint64_t image_bytes(const common::oci::LockedImage& image, const std::vector<common::oci::Platform>& want)
{
    std::uint64_t n = image.top.size;
    for (const common::oci::Platform& w : want) {
        const common::oci::ImagePlatform* p = manifest::find_platform(image, w);
        if (!p) continue;
        if (p->manifest.digest != image.top.digest) n += p->manifest.size; // an index's platform manifest
        n += p->config.size;
        for (const auto& l : p->layers) n += l.size;
    }
    return n;
}

struct RoleTotals {
    std::size_t files = 0, images = 0, addons = 0;
    std::uint64_t bytes = 0;
};

} // namespace

common::Result<std::string> plan_text(const PlanOptions& o)
{
    auto all = manifest::load_manifests(o.workdir / "manifests", o.profile);
    if (!all) return fail(all.error());
    auto lock = manifest::BinariesLock::load(o.workdir / "binaries.lock");
    if (!lock) return fail(lock.error());
    auto debs = manifest::DebsLock::load(o.workdir / "debs.lock");
    if (!debs) return fail(debs.error());
    auto images = manifest::ImagesLock::load(o.workdir / "images.lock");
    if (!images) return fail(images.error());

    std::vector<std::string> arches = o.arch.empty() ? all->profile.arches() : std::vector<std::string>{o.arch};
    std::string out = fmt::format("profile {} {}{}\n", all->profile.name, all->profile.version,
                                  all->profile.description.empty() ? "" : ": " + all->profile.description);
    for (const std::string& arch : arches) {
        auto m = manifest::for_arch(*all, arch);
        if (!m) return fail(m.error());
        const manifest::Profile& p = m->profile;
        std::vector<std::string> targets;
        for (const auto& platform : p.platforms) targets.push_back(manifest::target_name(platform));
        out += fmt::format("\n== {} (one .run: platform-installer-{}.run{}) for {}\n", arch, p.name,
                           arches.size() > 1 ? fmt::format(" --arch {}", arch) : "", fmt::join(targets, ", "));
        std::vector<common::oci::Platform> want = registry::image_platforms(p.platforms);
        std::map<std::string, RoleTotals> per_role;
        for (const auto& [role, plan] : p.roles) per_role[role];
        for (const manifest::Component& c : m->components) {
            out += fmt::format("component {} ({})\n", c.name, c.path);
            for (const manifest::FileSpec& f : c.files) {
                if (!manifest::for_arch(f, arch)) continue;
                const manifest::BinaryPin* pin = lock->find(f.url);
                out += fmt::format("  file  {:<24} {:<44} {}  {}\n", f.name, f.install + (f.extract.empty() ? "" : " (from " + f.extract + ")"),
                                   pin ? common::human_bytes(pin->blob.size) : "UNPINNED", roles_of(f.roles));
                for (auto& [role, t] : per_role)
                    if (f.roles.empty() || std::count(f.roles.begin(), f.roles.end(), role)) {
                        ++t.files;
                        t.bytes += pin ? pin->blob.size : 0;
                    }
            }
            for (const manifest::ImageSpec& image : c.images) {
                const common::oci::LockedImage* pin = images->find(image.ref);
                std::uint64_t bytes = pin ? image_bytes(*pin, want) : 0;
                out += fmt::format("  image {:<69} {}  {}{}{}\n", image.ref, pin ? common::human_bytes(bytes) : "UNPINNED", roles_of(image.roles),
                                   image.import ? ", imported" : "", image.airgap ? ", for k3s's agent/images" : "");
                for (auto& [role, t] : per_role)
                    if (image.roles.empty() || std::count(image.roles.begin(), image.roles.end(), role)) {
                        ++t.images;
                        t.bytes += bytes;
                    }
            }
            for (const common::bundle::DebRequest& d : c.deb_requests)
                out += fmt::format("  deb   {:<69} {}{}\n", d.name, roles_of(d.roles), d.gpu ? ", has_gpu nodes only" : "");
            for (const manifest::AddonSpec& a : c.addons) {
                const manifest::BinaryPin* pin = a.remote ? lock->find(a.remote->url) : nullptr;
                std::uint64_t size = a.remote ? (pin ? pin->blob.size : 0) : a.local_content.size();
                out += fmt::format("  addon {:<24} {:<44} {}  first master\n", a.name, std::string(to_string(a.kind)) + " " + a.source(),
                                   a.remote && !pin ? "UNPINNED" : common::human_bytes(size));
                ++per_role["master"].addons;
            }
        }
        for (const auto& platform : p.platforms) {
            std::string target = manifest::target_name(platform);
            const manifest::TargetPins* pins = debs->find(target);
            if (m->requested_debs().empty()) break;
            if (!pins || pins->requested != m->requested_debs()) {
                out += fmt::format("debs for {}: NOT RESOLVED\n", target);
                continue;
            }
            std::uint64_t bytes = 0;
            for (const manifest::DebPin& d : pins->packages) bytes += d.blob.size;
            out += fmt::format("debs for {}: {} packages (the closure), {}\n", target, pins->packages.size(), common::human_bytes(bytes));
        }
        for (const auto& [role, plan] : p.roles) {
            const RoleTotals& t = per_role[role];
            out += fmt::format("role {}: {}\n  {} files, {} images{} ({} pinned so far), min {} CPU, {} GB memory, {} GB disk\n", role,
                               fmt::join(plan.phases, " -> "), t.files, t.images,
                               role == "master" && t.addons ? fmt::format(", {} addons on the first master", t.addons) : "",
                               common::human_bytes(t.bytes), plan.minima.cpus, plan.minima.memory_gb, plan.minima.disk_gb);
        }
        std::string missing = missing_pins(*m, *lock, *debs, *images);
        out += missing.empty() ? "every artifact is pinned: `bundler build` needs only the sources (or a --fetch-only cache)\n" : missing;
    }
    return out;
}

} // namespace bundler::build
