// SPDX-License-Identifier: Apache-2.0
#include <installer/phases/store_files.hpp>

#include <system_error>

namespace installer::phases {

namespace {

using common::fail;

// A damaged store blob is removed, with a message that tells the operator the next run restores it.
common::Error dropped(Context& ctx, common::Error e, const common::store::BlobRef& blob)
{
    if (e.code == common::Errc::digest_mismatch || e.code == common::Errc::size_mismatch) {
        std::error_code ec;
        std::filesystem::remove(common::store::BlobStore::view(ctx.paths.store).blob_path(blob.digest), ec);
        e.message += "; removed it from the store: run the installer again to restore it from the bundle";
    }
    return e;
}

} // namespace

Result<bool> holds_blob(system::System& sys, std::string_view path, const common::store::BlobRef& blob, unsigned mode)
{
    auto info = sys.stat(path);
    if (!info) return fail(info.error());
    if (info->kind != system::FileKind::regular || info->mode != mode || info->size != blob.size) return false;
    auto got = sys.hash_file(path);
    if (!got) return fail(got.error());
    return got->digest == blob.digest;
}

Result<void> install_from_store(Context& ctx, std::string_view path, const common::store::BlobRef& blob, unsigned mode)
{
    auto st = common::store::BlobStore::view(ctx.paths.store);
    if (auto installed = ctx.sys.install_blob(path, st, blob, {mode, {}, {}}); !installed)
        return fail(dropped(ctx, installed.error(), blob).wrap(fmt::format("install {}", path)));
    return {};
}

Result<std::string> read_from_store(Context& ctx, const common::store::BlobRef& blob)
{
    std::string path = node::NodePaths::blob_in(node::NodePaths::k_store, blob.digest);
    auto bytes = ctx.sys.read_file(path, blob.size + 1);
    if (!bytes) return fail(bytes.error().wrap("read stored blob " + blob.digest.str()));
    common::Error e{common::Errc::size_mismatch, ""};
    if (bytes->size() != blob.size) e.message = fmt::format("stored blob {}: {} bytes, want {}", blob.digest.str(), bytes->size(), blob.size);
    else if (common::digest::sha256_of(std::as_bytes(std::span(bytes->data(), bytes->size()))) != blob.digest)
        e = {common::Errc::digest_mismatch, fmt::format("stored blob {}: sha256 mismatch", blob.digest.str())};
    else return std::move(*bytes);
    return fail(dropped(ctx, e, blob));
}

} // namespace installer::phases
