// SPDX-License-Identifier: Apache-2.0
#include <installer/phases/images_phase.hpp>

#include <installer/phases/image_archive.hpp>

#include <common/io/verifying_stream.hpp>

#include <map>
#include <sstream>

namespace installer::phases {

namespace {

using common::Errc;
using common::fail;
using common::oci::LockedImage;

constexpr std::string_view k_agent_images = "/var/lib/rancher/k3s/agent/images";
constexpr std::string_view k_k3s_socket = "/run/k3s/containerd/containerd.sock";
constexpr std::string_view k_containerd_socket = "/run/containerd/containerd.sock";

std::vector<const LockedImage*> images_where(const Context& ctx, bool LockedImage::*flag)
{
    std::vector<const LockedImage*> out;
    for (const LockedImage& image : ctx.index.images)
        if (image.*flag && image.for_role(ctx.role)) out.push_back(&image);
    return out;
}

std::string agent_path(const LockedImage& image) { return fmt::format("{}/{}", k_agent_images, archive_file_name(image)); }

// True when the archive at its path holds exactly the bytes the store gives for it.
Result<bool> archive_in_place(const Context& ctx, const LockedImage& image)
{
    auto store = common::store::BlobStore::view(ctx.paths.store);
    std::vector<common::io::TarEntry> entries = image_archive(image, store);
    auto have = ctx.sys.stat(agent_path(image));
    if (!have) return fail(have.error());
    if (have->kind != system::FileKind::regular || have->size != common::io::TarStream::size_of(entries)) return false;
    auto got = ctx.sys.hash_file(agent_path(image));
    if (!got) return fail(got.error());
    common::io::TarStream stream(std::move(entries));
    auto want = common::io::hash_all(stream);
    if (!want) return fail(want.error());
    return got->digest == want->digest;
}

class ImagesPhase : public Phase {
public:
    using Phase::Phase;

    Result<bool> satisfied(Context& ctx) const override
    {
        for (const LockedImage* image : images_where(ctx, &LockedImage::airgap)) {
            auto ok = archive_in_place(ctx, *image);
            if (!ok || !*ok) return ok;
        }
        return true;
    }

    Result<void> apply(Context& ctx) override
    {
        auto store = common::store::BlobStore::view(ctx.paths.store);
        for (const LockedImage* image : images_where(ctx, &LockedImage::airgap)) {
            auto ok = archive_in_place(ctx, *image);
            if (!ok) return fail(ok.error());
            if (*ok) continue;
            common::io::TarStream stream(image_archive(*image, store));
            if (auto written = ctx.sys.write_from(agent_path(*image), stream, {0644, {}, {}}); !written)
                return fail(written.error().wrap("write " + agent_path(*image)));
            ctx.log.info("  {} -> {}", containerd_name(*image), agent_path(*image));
        }
        return {};
    }
};

// The socket of the containerd that runs here: k3s's when k3s runs, else containerd's own.
Result<std::string> containerd_socket(system::System& sys)
{
    for (std::string_view s : {k_k3s_socket, k_containerd_socket}) {
        auto info = sys.stat(s);
        if (!info) return fail(info.error());
        if (info->kind == system::FileKind::other) return std::string(s);
    }
    return fail(Errc::failed_precondition, "no containerd runs here (neither {} nor {}): start k3s or containerd first", k_k3s_socket,
                k_containerd_socket);
}

Result<system::CommandResult> ctr(system::System& sys, const std::string& socket, std::vector<std::string> args)
{
    std::vector<std::string> argv{"ctr", "--address", socket, "--namespace", "k8s.io"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = sys.run({argv, {}, std::chrono::seconds(600), system::InRoot::yes});
    if (!r) return fail(r.error());
    if (r->exit_code != 0)
        return fail(Errc::failed_precondition, "{} exited with {}: {}", fmt::join(argv, " "), r->exit_code, r->output);
    return r;
}

// What containerd holds in k8s.io: each name with the digest it points to (`ctr images list` columns
// REF TYPE DIGEST ...).
Result<std::map<std::string, std::string>> imported_images(system::System& sys, const std::string& socket)
{
    auto r = ctr(sys, socket, {"images", "list"});
    if (!r) return fail(r.error());
    std::map<std::string, std::string> images;
    std::istringstream in(r->output);
    std::string line;
    std::getline(in, line); // the header
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string name, type, digest;
        if (fields >> name >> type >> digest) images[name] = digest;
    }
    return images;
}

// True when containerd holds the image under its name, pointing at the locked digest.
bool holds(const std::map<std::string, std::string>& images, const LockedImage& image)
{
    auto it = images.find(containerd_name(image));
    return it != images.end() && it->second == image.top.digest.str();
}

class ImportPhase : public Phase {
public:
    using Phase::Phase;

    Result<bool> satisfied(Context& ctx) const override
    {
        auto wanted = images_where(ctx, &LockedImage::import);
        if (wanted.empty()) return true;
        auto socket = containerd_socket(ctx.sys);
        if (!socket) return false; // apply says what is missing
        auto images = imported_images(ctx.sys, *socket);
        if (!images) return fail(images.error());
        for (const LockedImage* image : wanted)
            if (!holds(*images, *image)) return false;
        return true;
    }

    Result<void> apply(Context& ctx) override
    {
        auto wanted = images_where(ctx, &LockedImage::import);
        if (wanted.empty()) return {};
        auto socket = containerd_socket(ctx.sys);
        if (!socket) return fail(socket.error());
        auto images = imported_images(ctx.sys, *socket);
        if (!images) return fail(images.error());
        auto store = common::store::BlobStore::view(ctx.paths.store);
        std::filesystem::path tmp_dir = ctx.paths.state / "tmp";
        TRY_VOID(common::io::make_dirs(tmp_dir));
        for (const LockedImage* image : wanted) {
            if (holds(*images, *image)) continue;
            // The archive goes to the installer's own state (not a change of the node), then to ctr.
            auto file = common::io::File::create_temp(tmp_dir.string(), "import.");
            if (!file) return fail(file.error());
            std::string host_path = file->path();
            struct Remove {
                std::string path;
                ~Remove() { std::error_code ec; std::filesystem::remove(path, ec); }
            } remove{host_path};
            common::io::TarStream stream(image_archive(*image, store));
            auto copied = common::io::copy(stream, *file);
            if (!copied) return fail(copied.error().wrap("archive " + containerd_name(*image)));
            TRY_VOID(file->close());
            std::string node_path = fmt::format("{}/tmp/{}", node::NodePaths::k_state, std::filesystem::path(host_path).filename().string());
            auto r = ctr(ctx.sys, *socket, {"images", "import", node_path});
            if (!r) return fail(r.error().wrap("import " + containerd_name(*image)));
            ctx.log.info("  imported {}", containerd_name(*image));
        }
        return {};
    }
};

} // namespace

std::unique_ptr<Phase> make_images_phase(const common::bundle::PhaseInfo& info) { return std::make_unique<ImagesPhase>(info); }
std::unique_ptr<Phase> make_import_phase(const common::bundle::PhaseInfo& info) { return std::make_unique<ImportPhase>(info); }

} // namespace installer::phases
