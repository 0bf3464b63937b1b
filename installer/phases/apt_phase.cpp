// SPDX-License-Identifier: Apache-2.0
#include <installer/phases/apt_phase.hpp>

#include <installer/phases/apt_repo.hpp>
#include <installer/phases/apt_select.hpp>
#include <installer/system/facts.hpp>

#include <common/deb/version.hpp>
#include <common/io/file.hpp>
#include <common/pgp/openpgp_key.hpp>
#include <common/util/failpoint.hpp>

#include <algorithm>
#include <ctime>
#include <map>
#include <sstream>
#include <thread>

namespace installer::phases {

namespace {

using common::Errc;
using common::fail;

constexpr std::string_view k_dpkg_lock = "/var/lib/dpkg/lock-frontend";
const std::string k_key_file = std::string(k_apt_root) + "/node-key";
const std::string k_sources_dir = std::string(k_apt_root) + "/sources.list.d";
const std::string k_lists_dir = std::string(k_apt_root) + "/lists";

// The bundle's target for this node, or a refusal naming the supported ones (before anything changes).
Result<std::string> node_target(Context& ctx)
{
    auto facts = system::gather_facts(ctx.sys, ctx.paths.state);
    if (!facts) return fail(facts.error());
    std::string target = apt_target(facts->os_id, facts->os_version_id);
    if (ctx.index.apt_indexes.contains(target)) return target;
    std::string supported;
    for (const auto& [name, _] : ctx.index.apt_indexes) supported += (supported.empty() ? "" : ", ") + name;
    return fail(Errc::failed_precondition, "this node runs {} {} ({}): the bundle carries packages for {}", facts->os_id,
                facts->os_version_id, target, supported.empty() ? "no release" : supported);
}

// The packages of the target's closure this node installs (apt_select.hpp): every one unless the
// bundle's components mean some only for other roles or for GPU nodes.
Result<std::vector<common::bundle::DebEntry>> this_node_debs(Context& ctx, const std::string& target)
{
    const auto& closure = ctx.index.debs.at(target);
    if (ctx.index.deb_requests.empty()) return closure;
    const common::bundle::AptIndex& indexes = ctx.index.apt_indexes.at(target);
    auto text = common::io::read_file(ctx.paths.store / "blobs" / "sha256" / indexes.packages.digest.hex(), 1u << 30);
    if (!text) return fail(text.error().wrap("the bundle's Packages index of " + target));
    return node_debs(closure, *text, ctx.index.deb_requests, ctx.role, ctx.self && ctx.self->has_gpu);
}

// dpkg's view of the closure: each known package's version and status ("ii " when installed).
Result<std::map<std::string, std::pair<std::string, std::string>>> dpkg_status(system::System& sys,
                                                                               const std::vector<common::bundle::DebEntry>& debs)
{
    std::vector<std::string> argv{"dpkg-query", "--show", "--showformat=${Package}\\t${Version}\\t${db:Status-Abbrev}\\n"};
    for (const auto& d : debs) argv.push_back(d.name);
    auto r = sys.run({argv, {}, std::chrono::seconds(120), system::InRoot::yes});
    if (!r) return fail(r.error());
    // dpkg-query exits 1 when some name is unknown, and still lists the others.
    std::map<std::string, std::pair<std::string, std::string>> known;
    std::istringstream in(r->output);
    for (std::string line; std::getline(in, line);) {
        std::istringstream fields(line);
        std::string name, version, status;
        if (!std::getline(fields, name, '\t') || !std::getline(fields, version, '\t') || !std::getline(fields, status)) continue;
        known[name] = {version, status};
    }
    return known;
}

// Installed versions of the closure; a package missing or not fully installed is absent.
Result<std::map<std::string, std::string>> installed_versions(system::System& sys, const std::vector<common::bundle::DebEntry>& debs)
{
    auto known = dpkg_status(sys, debs);
    if (!known) return fail(known.error());
    std::map<std::string, std::string> versions;
    for (const auto& [name, vs] : *known)
        if (vs.second.starts_with("ii")) versions[name] = vs.first;
    return versions;
}

// Packages of the closure dpkg has never had (or has fully purged): what reset will purge again.
Result<std::vector<std::string>> new_packages(system::System& sys, const std::vector<common::bundle::DebEntry>& debs)
{
    auto known = dpkg_status(sys, debs);
    if (!known) return fail(known.error());
    std::vector<std::string> out;
    for (const auto& d : debs) {
        auto it = known->find(d.name);
        if (it == known->end() || (it->second.second.size() >= 2 && it->second.second[1] == 'n')) out.push_back(d.name);
    }
    std::sort(out.begin(), out.end());
    return out;
}

// Packages of the closure not installed, or installed older than locked ("name=version" each). One the
// node already has at a newer version (a security update of libssl3, say) is left alone, never downgraded.
Result<std::vector<std::string>> missing_packages(system::System& sys, const std::vector<common::bundle::DebEntry>& debs)
{
    auto versions = installed_versions(sys, debs);
    if (!versions) return fail(versions.error());
    std::vector<std::string> missing;
    for (const auto& d : debs) {
        auto it = versions->find(d.name);
        if (it == versions->end() || common::deb::compare_versions(it->second, d.version) < 0)
            missing.push_back(fmt::format("{}={}", d.name, d.version));
    }
    std::sort(missing.begin(), missing.end());
    return missing;
}

// What apt refused, from its output: the first line of each "E:" message (a file that failed its hash or
// signature check is named there), or a pointer to the log when there is none.
std::string apt_errors(std::string_view output)
{
    std::vector<std::string_view> errors;
    for (std::size_t pos = 0; pos < output.size();) {
        std::size_t end = output.find('\n', pos);
        if (end == std::string_view::npos) end = output.size();
        std::string_view line = output.substr(pos, end - pos);
        if (line.starts_with("E: ") && std::find(errors.begin(), errors.end(), line.substr(3)) == errors.end())
            errors.push_back(line.substr(3));
        pos = end + 1;
    }
    if (errors.empty()) return "no error line from apt (its whole output is in the log)";
    return fmt::format("{}", fmt::join(errors, "; "));
}

// Runs an apt/dpkg command in the root, non-interactive; its output goes to the log, a failure names it
// (and the process that holds the dpkg lock, when one does: apt in a chroot cannot name it).
Result<void> run_apt(Context& ctx, std::vector<std::string> argv, std::string_view what)
{
    ctx.log.info("  {}", what);
    auto holder = ctx.sys.lock_holder(k_dpkg_lock);
    if (!holder) return fail(holder.error());
    if (!holder->empty())
        ctx.log.info("  waiting up to {} s for {}, which holds {} (--apt-lock-timeout)", ctx.options.apt_lock_timeout_s, *holder, k_dpkg_lock);
    auto r = ctx.sys.run({argv, {{"DEBIAN_FRONTEND", "noninteractive"}, {"APT_LISTCHANGES_FRONTEND", "none"}},
                          std::chrono::seconds(3600 + ctx.options.apt_lock_timeout_s), system::InRoot::yes});
    if (!r) return fail(r.error().wrap(std::string(what)));
    if (r->exit_code != 0) {
        std::string tail = r->tail(4000);
        auto still = ctx.sys.lock_holder(k_dpkg_lock);
        if (still && !still->empty())
            return fail(Errc::failed_precondition, "{} failed: {} still holds {} after {} s (wait for it to finish, or stop it):\n{}", what,
                        *still, k_dpkg_lock, ctx.options.apt_lock_timeout_s, tail);
        return fail(Errc::failed_precondition, "{} failed (exit {}): {}\napt's output ends:\n{}", what, r->exit_code, apt_errors(r->output), tail);
    }
    return {};
}

// Waits until nobody holds the dpkg lock, up to --apt-lock-timeout; then names the holder.
Result<void> wait_for_dpkg_lock(Context& ctx)
{
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(ctx.options.apt_lock_timeout_s);
    for (bool told = false;; told = true) {
        auto holder = ctx.sys.lock_holder(k_dpkg_lock);
        if (!holder) return fail(holder.error());
        if (holder->empty()) return {};
        if (std::chrono::steady_clock::now() >= deadline)
            return fail(Errc::failed_precondition, "{} still holds {} after {} s: wait for it to finish, or stop it (--apt-lock-timeout)",
                        *holder, k_dpkg_lock, ctx.options.apt_lock_timeout_s);
        if (!told) ctx.log.info("  waiting up to {} s for {}, which holds {}", ctx.options.apt_lock_timeout_s, *holder, k_dpkg_lock);
        std::this_thread::sleep_for(std::chrono::seconds(1));
    }
}

// The node's signing key: made once, kept 0600 in the installer's state (never leaves the node).
Result<common::pgp::SigningKey> node_key(Context& ctx)
{
    auto info = ctx.sys.stat(k_key_file);
    if (!info) return fail(info.error());
    if (info->kind == system::FileKind::regular) {
        auto text = ctx.sys.read_file(k_key_file, 1 << 16);
        if (!text) return fail(text.error());
        auto key = common::pgp::SigningKey::parse(*text);
        if (!key) return fail(key.error().wrap(k_key_file));
        return key;
    }
    auto key = common::pgp::SigningKey::generate("platform-installer node repository", std::time(nullptr));
    if (!key) return fail(key.error());
    TRY_VOID(ctx.sys.write_file(k_key_file, key->serialize(), {0600, {}, {}}));
    ctx.log.info("  made this node's repository key {}", key->fingerprint_hex());
    return key;
}

class AptPhase : public Phase {
public:
    using Phase::Phase;

    Result<bool> satisfied(Context& ctx) const override
    {
        if (ctx.index.debs.empty()) return true;
        auto target = node_target(ctx);
        if (!target) return fail(target.error());
        auto entry = file_holds(ctx.sys, k_apt_sources, apt_sources_entry(*target));
        if (!entry || !*entry) return entry;
        auto keyring = ctx.sys.stat(k_apt_keyring);
        if (!keyring) return fail(keyring.error());
        if (keyring->kind != system::FileKind::regular) return false;
        auto debs = this_node_debs(ctx, *target);
        if (!debs) return debs.error().code == Errc::not_found ? Result<bool>(false) : fail(debs.error()); // no store yet
        auto missing = missing_packages(ctx.sys, *debs);
        if (!missing) return fail(missing.error());
        return missing->empty();
    }

    Result<void> apply(Context& ctx) override
    {
        if (ctx.index.debs.empty()) {
            ctx.log.info("  no packages in this bundle");
            return {};
        }
        auto target = node_target(ctx);
        if (!target) return fail(target.error());
        const auto& closure = ctx.index.debs.at(*target);

        // 1. The repository: hard links to the store, the Release, signed here by this node's key.
        auto tree = apt_repo_tree(ctx.index, *target, node::NodePaths::k_store);
        if (!tree) return fail(tree.error());
        std::string repo = fmt::format("{}/{}", k_apt_root, *target);
        auto changed = ctx.sys.seed_tree(repo, *tree);
        if (!changed) return fail(changed.error());
        auto key = node_key(ctx);
        if (!key) return fail(key.error());
        const common::bundle::AptIndex& indexes = ctx.index.apt_indexes.at(*target);
        auto signed_release = key->clearsign(apt_release(indexes, apt_date(ctx.index.created)), std::time(nullptr));
        if (!signed_release) return fail(signed_release.error().wrap("sign the repository's Release"));
        TRY_VOID(ctx.sys.write_file(fmt::format("{}/dists/{}/InRelease", repo, k_apt_suite), *signed_release, {0644, {}, {}}));
        ctx.log.info("  {} packages for {} in {} ({} entries changed), signed by {}", closure.size(), *target, repo, *changed,
                     key->fingerprint_hex());

        // 2. The keyring and the sources entry apt keeps (signed-by, never trusted=yes); the same entry in
        //    a folder of our own is all apt reads during this phase.
        TRY_VOID(ctx.sys.write_file(k_apt_keyring, key->public_keyring(), {0644, {}, {}}));
        std::string entry = apt_sources_entry(*target);
        for (const std::string& path : {std::string(k_apt_sources), k_sources_dir + "/platform-installer.sources"}) {
            auto ok = file_holds(ctx.sys, path, entry);
            if (!ok) return fail(ok.error());
            if (!*ok) TRY_VOID(ctx.sys.write_file(path, entry, {0644, {}, {}}));
        }
        // apt's lists of the node repository: a folder apt fills, owned whole (reset removes it).
        auto lists = ctx.sys.seed_tree(k_lists_dir, {});
        if (!lists) return fail(lists.error());
        TRY_VOID(ctx.sys.make_dir(k_lists_dir + "/partial", 0755));
        common::failpoint("apt.laid_out");

        // 3. Packages not yet at their locked versions: a dpkg interrupted earlier finishes first, then apt.
        auto selected = this_node_debs(ctx, *target);
        if (!selected) return fail(selected.error());
        const std::vector<common::bundle::DebEntry>& debs = *selected;
        if (debs.size() != closure.size())
            ctx.log.info("  {} of them are for this node ({}{})", debs.size(), ctx.role, ctx.self && ctx.self->has_gpu ? ", GPU" : "");
        auto missing = missing_packages(ctx.sys, debs);
        if (!missing) return fail(missing.error());
        if (missing->empty()) {
            ctx.log.info("  every package is installed at its locked version");
            return {};
        }
        std::vector<std::string> options = apt_isolation_options(k_sources_dir, k_lists_dir, ctx.options.apt_lock_timeout_s);
        TRY_VOID(wait_for_dpkg_lock(ctx)); // dpkg itself does not wait (apt-get does: DPkg::Lock::Timeout)
        TRY_VOID(run_apt(ctx, {"dpkg", "--configure", "-a", "--force-confold", "--force-confdef"},
                         "dpkg --configure -a (finishes an interrupted install)"));
        // Error-Mode=any: a signature apt rejects fails the update even when older lists are kept (apt
        // would otherwise warn, and go on with the previous indexes); apt 2.1.16 and later, older apt ignores it.
        std::vector<std::string> update{"apt-get", "update", "-q", "-o", "APT::Update::Error-Mode=any"};
        update.insert(update.end(), options.begin(), options.end());
        TRY_VOID(run_apt(ctx, update, fmt::format("apt-get update (only the node repository {}; waits up to {} s for another apt or dpkg)",
                                                  repo, ctx.options.apt_lock_timeout_s)));
        common::failpoint("apt.updated");
        auto fresh = new_packages(ctx.sys, debs);
        if (!fresh) return fail(fresh.error());
        TRY_VOID(ctx.sys.journal_packages(*fresh)); // reset purges what this install brings
        std::vector<std::string> install{"apt-get", "install", "-y", "-q", "--no-install-recommends"};
        install.insert(install.end(), options.begin(), options.end());
        install.insert(install.end(), missing->begin(), missing->end());
        TRY_VOID(run_apt(ctx, install, fmt::format("apt-get install of {} of the {} packages at their locked versions", missing->size(),
                                                   debs.size())));
        auto still = missing_packages(ctx.sys, debs);
        if (!still) return fail(still.error());
        if (!still->empty())
            return fail(Errc::failed_precondition, "apt-get install finished but {} are not at their locked versions", fmt::join(*still, ", "));
        return {};
    }
};

} // namespace

std::unique_ptr<Phase> make_apt_phase(const common::bundle::PhaseInfo& info) { return std::make_unique<AptPhase>(info); }

} // namespace installer::phases
