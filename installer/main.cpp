// SPDX-License-Identifier: Apache-2.0
// platform-installer: the static program at the head of every .run file. It reads the payload and trailer
// from its own file (/proc/self/exe), so the .run stays one valid ELF with no shell header.
#include <installer/engine/engine.hpp>
#include <installer/engine/node_status.hpp>
#include <installer/engine/support_bundle.hpp>
#include <installer/node/state_purge.hpp>
#include <installer/phases/preflight.hpp>
#include <installer/system/host_system.hpp>
#include <installer/system/node_lock.hpp>

#include <common/bundle/bundle_summary.hpp>
#include <common/bundle/signature.hpp>
#include <common/util/progress.hpp>

#include <CLI/CLI.hpp>

#include <iostream>
#include <optional>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;
using common::Result;

namespace {

struct Options {
    fs::path bundle = "/proc/self/exe";
    bool check = false, info = false, list = false, dry_run = false, yes = false, reset = false;
    bool status = false, json = false, purge = false;
    fs::path extract;
    std::string role;
    std::string config, node_name; // cluster.yaml and --node
    fs::path root = "/";
    std::vector<std::string> only, skip, skip_checks;
    std::string from;
    std::string signer;
    installer::phases::NodeOptions node;
    std::string resolve = "automatic"; // hidden: "walk" makes tests use the checked walk instead of openat2
};

installer::system::Resolution resolution(const Options& o)
{
    return o.resolve == "walk" ? installer::system::Resolution::walk : installer::system::Resolution::automatic;
}

int fail_with(const common::Error& e)
{
    fmt::print(stderr, "error: {}\n", e.message);
    return e.code == common::Errc::invalid_argument ? 2 : 1;
}

// Checks every byte (installer, payload, trailer, each blob, the signature) without writing anything.
int run_check(const common::bundle::BundleFile& bf)
{
    common::ProgressMeter meter("verify", bf.trailer().payload_size);
    auto index = bf.verify_all([&](std::uint64_t done, std::uint64_t) { meter.update(done); });
    if (!index) return fail_with(index.error());
    fmt::print("ok: {} {}: installer, payload ({} blobs) and trailer digests match{}\n", index->profile, index->version,
               index->blobs.size(), bf.signer() ? fmt::format("; signature by {} verified", bf.signer()->str()) : std::string());
    return 0;
}

// Writes one blob into the extraction folder: a temp file beside its final name, renamed once checked.
class FileBlobSink : public common::bundle::BlobSink {
public:
    FileBlobSink(common::io::File file, fs::path target) : m_file(std::move(file)), m_target(std::move(target)) {}
    ~FileBlobSink() override
    {
        if (!m_committed) ::unlink(m_file.path().c_str());
    }
    Result<void> write(std::span<const std::byte> data) override { return m_file.write(data); }
    Result<void> commit() override
    {
        // As a store commit: the bytes reach the disk before the name does, and the name after it.
        TRY_VOID(m_file.sync());
        TRY_VOID(m_file.close());
        if (::rename(m_file.path().c_str(), m_target.c_str()) != 0)
            return common::fail_errno("rename to " + m_target.string(), errno);
        m_committed = true;
        return common::io::sync_dir(m_target.parent_path());
    }

private:
    common::io::File m_file;
    fs::path m_target;
    bool m_committed = false;
};

int run_extract(const common::bundle::BundleFile& bf, const fs::path& dir)
{
    std::error_code ec;
    if (fs::exists(dir, ec) && !fs::is_empty(dir, ec))
        return fail_with({common::Errc::invalid_argument, fmt::format("--extract {}: folder is not empty", dir.string())});
    if (auto ok = bf.verify_installer(); !ok) return fail_with(ok.error());
    bool created = !fs::exists(dir, ec);
    // On failure, take back what was written: the folder was empty (or absent) before.
    auto undo = [&](const common::Error& e) {
        if (created) fs::remove_all(dir, ec);
        else
            for (const auto& entry : fs::directory_iterator(dir, ec)) fs::remove_all(entry.path(), ec);
        return fail_with(e);
    };
    if (auto ok = common::io::make_dirs(dir / "blobs" / "sha256"); !ok) return undo(ok.error());
    // Entry paths were checked against the payload grammar by the reader (no "..", no links) and each
    // blob's bytes against its digest before it gets its name.
    auto sinks = [&](const common::store::BlobRef& ref) -> Result<std::unique_ptr<common::bundle::BlobSink>> {
        fs::path target = dir / "blobs" / "sha256" / ref.digest.hex();
        auto file = common::io::create_temp_beside(target);
        if (!file) return common::fail(file.error());
        return std::make_unique<FileBlobSink>(std::move(*file), target);
    };
    common::ProgressMeter meter("extract", bf.trailer().payload_size);
    auto walked = bf.walk([&](std::uint64_t done, std::uint64_t) { meter.update(done); }, sinks);
    if (!walked) return undo(walked.error());
    if (auto ok = common::io::write_file_atomic(dir / "bundle.json", walked->index_json); !ok) return undo(ok.error());
    meter.finish();
    fmt::print("extracted bundle.json and {} blobs into {}\n", walked->index.blobs.size(), dir.string());
    return 0;
}

bool confirm(const std::string& question)
{
    fmt::print("{} [y/N] ", question);
    std::fflush(stdout);
    std::string answer;
    std::getline(std::cin, answer);
    return answer == "y" || answer == "Y" || answer == "yes";
}

// The state folders resolved in the root, one installer at a time, the log, the journal and the change
// log: what an install and a reset both hold while they change the node.
struct NodeState {
    installer::node::NodePaths paths;
    installer::system::NodeLock lock;
    installer::engine::Journal journal;
    installer::system::ChangeLog changes;
};

Result<NodeState> open_node_state(const installer::system::RootDir& root, installer::engine::Logger& log)
{
    auto paths = installer::node::NodePaths::resolve(root, installer::system::Create::yes);
    if (!paths) return common::fail(paths.error());
    auto lock = installer::system::NodeLock::acquire(paths->lock);
    if (!lock) return common::fail(lock.error());
    TRY_VOID(log.attach(paths->log));
    auto journal = installer::engine::Journal::open(paths->journal);
    if (!journal) return common::fail(journal.error());
    auto changes = installer::system::ChangeLog::open(paths->state);
    if (!changes) return common::fail(changes.error());
    return NodeState{std::move(*paths), std::move(*lock), std::move(*journal), std::move(*changes)};
}

// The node's hostname: the root's /etc/hostname when installing into a root (opened inside the root, as
// every node path is: a link there never leads out of it), else the kernel's. Empty when there is none.
Result<std::string> node_hostname(const Options& o)
{
    auto root = installer::system::RootDir::open(o.root, resolution(o));
    if (!root) return common::fail(root.error());
    char name[256] = {};
    if (root->is_host()) {
        ::gethostname(name, sizeof(name) - 1);
        return std::string(name);
    }
    auto file = root->open_file("/etc/hostname");
    if (!file) return file.error().code == common::Errc::not_found ? std::string() : Result<std::string>(common::fail(file.error()));
    auto n = file->read(std::as_writable_bytes(std::span(name, sizeof(name) - 1)));
    if (!n) return common::fail(n.error());
    std::string_view text(name, *n);
    return std::string(text.substr(0, text.find('\n')));
}

// --config: reads cluster.yaml, finds this node in it, and checks --role against it (or takes the role
// from it). Nothing on the node has changed yet.
Result<const installer::cluster::Node*> cluster_node(const installer::cluster::Inventory& inv, const std::string& hostname, Options& o)
{
    auto self = inv.identify(o.node_name, hostname, installer::cluster::held_addresses());
    if (!self) return common::fail(self.error());
    std::string role(installer::cluster::to_string((*self)->role));
    if (!o.role.empty() && o.role != role)
        return common::fail(common::Errc::invalid_argument, "--role {}, but {} line {} makes node {} a {}: fix one of the two", o.role,
                            inv.path, (*self)->line, (*self)->name, role);
    o.role = role;
    return self;
}

int run_install(const common::bundle::BundleFile& bf, Options o)
{
    // 0. The cluster this node joins (--config), and which node it is: a wrong file stops here.
    std::optional<installer::cluster::Inventory> inventory;
    const installer::cluster::Node* self = nullptr;
    std::string hostname;
    if (!o.config.empty()) {
        auto inv = installer::cluster::Inventory::load(o.config);
        if (!inv) return fail_with(inv.error());
        inventory = std::move(*inv);
        auto name = node_hostname(o);
        if (!name) return fail_with(name.error());
        hostname = std::move(*name);
        auto node = cluster_node(*inventory, hostname, o);
        if (!node) return fail_with(node.error());
        self = *node;
        fmt::print("cluster {}: this node is {} ({}, {}{}{}), registering through {}\n", inventory->name, self->name,
                   installer::cluster::to_string(self->role), self->address.text, self->has_gpu ? ", GPU" : "",
                   self->name == inventory->first_master().name ? ", the first master" : "", inventory->registration.text);
    }
    // 1. Usage first (bundle.json alone is checked against its digest), then the bundle's every byte:
    //    a damaged file is refused before anything on the node changes.
    auto index = bf.read_index();
    if (!index) return fail_with(index.error());
    const common::bundle::RolePlan* plan = index->role(o.role);
    if (!plan) {
        std::vector<std::string> roles;
        for (const auto& [r, _] : index->roles) roles.push_back(r);
        return fail_with({common::Errc::invalid_argument,
                          fmt::format("role '{}' is not in this bundle (roles: {})", o.role, fmt::join(roles, ", "))});
    }
    for (const std::string& id : o.skip_checks) {
        const auto& ids = installer::phases::preflight_check_ids();
        if (std::find(ids.begin(), ids.end(), id) == ids.end())
            return fail_with({common::Errc::invalid_argument,
                              fmt::format("--skip-check {}: no such check (checks: {})", id, fmt::join(ids, ", "))});
    }
    installer::engine::Selection selection{o.only, o.skip, o.from};
    auto names = installer::engine::select_phases(plan->phases, selection);
    if (!names) return fail_with(names.error());
    for (const std::string& gate : installer::engine::kept_gates(plan->phases, selection))
        fmt::print("note: {} always runs (it changes nothing); skip one of its checks with --skip-check ID\n", gate);
    if (!o.dry_run) {
        common::ProgressMeter meter("verify", bf.trailer().payload_size);
        if (auto ok = bf.verify_installer(); !ok) return fail_with(ok.error());
        if (auto ok = bf.verify_payload_digest([&](std::uint64_t done, std::uint64_t) { meter.update(done); }); !ok)
            return fail_with(ok.error());
    }

    // 2. The node, through the seam: every path resolved inside the root. Read-only until the lock is held.
    auto root = installer::system::RootDir::open(o.root, resolution(o));
    if (!root) return fail_with(root.error());
    auto paths = installer::node::NodePaths::resolve(*root, installer::system::Create::no);
    if (!paths) return fail_with(paths.error());
    installer::system::HostSystem sys(*root, nullptr, {paths->state});
    installer::engine::Logger log;
    installer::phases::Context ctx{bf, *index, bf.trailer().bundle_json_sha256.str(), o.role, *paths, log, sys,
                                   {o.skip_checks.begin(), o.skip_checks.end()}, o.node, inventory ? &*inventory : nullptr, self, hostname};

    // 3. The plan, read-only: shown for --dry-run and before asking; otherwise made once, under the lock.
    if (o.dry_run || (!o.yes && ::isatty(STDIN_FILENO))) {
        auto planned = installer::engine::plan(ctx, *names);
        if (!planned) return fail_with(planned.error());
        fmt::print("plan for role {} of {} {} (root {}):\n", o.role, index->profile, index->version, o.root.string());
        for (const auto& p : *planned)
            fmt::print("  {:<10} {:<14} {}\n", p.phase->name(), p.phase->is_gate() ? "check" : p.satisfied ? "already done" : "to do",
                       p.phase->summary());
        if (o.dry_run) return 0;
        if (!confirm("Proceed?")) return fail_with({common::Errc::failed_precondition, "cancelled by the operator"});
    }

    // 4. Node state: one installer at a time, one log, a journal, the change log the seam writes.
    auto state = open_node_state(*root, log);
    if (!state) return fail_with(state.error());
    ctx.paths = state->paths;
    sys.attach(&state->changes);
    // What --status names the installed bundle by (profile, version, files), beside the journal naming its digest.
    if (auto kept = installer::engine::keep_bundle_index(state->paths.state, *index, ctx.bundle_id); !kept) return fail_with(kept.error());
    log.detail(fmt::format("start: role {}, bundle {} {} ({}), phases {}", o.role, index->profile, index->version,
                           ctx.bundle_id, fmt::join(*names, ",")));
    std::string interrupted;
    if (state->journal.interrupted(ctx.bundle_id, o.role, &interrupted))
        log.info("resuming: the previous run stopped during phase {}", interrupted);

    // 5. Phases, planned under the lock (another installer may have finished since the plan shown).
    auto planned = installer::engine::plan(ctx, *names);
    if (!planned) return fail_with(planned.error());
    auto outcome = installer::engine::run(ctx, *planned, state->journal);
    if (!outcome) {
        log.error("{}", outcome.error().message);
        log.info("log: {}", state->paths.log.string());
        // What whoever helps the operator needs, in one file (no secrets: the token is redacted).
        if (auto support = installer::engine::write_support_bundle(ctx, outcome.error().message, o.config))
            log.info("support bundle (log, journal, preflight, configs, facts; the token redacted): {}", support->string());
        else
            log.error("could not write the support bundle: {}", support.error().message);
        return outcome.error().code == common::Errc::invalid_argument ? 2 : 1;
    }
    if (*outcome == installer::engine::Outcome::nothing_to_do) {
        log.info("nothing to do: role {} of {} {} is already installed ({} phases done); the node was not changed",
                 o.role, index->profile, index->version, planned->size());
        return 0;
    }
    log.info("installed role {} of {} {}; log: {}", o.role, index->profile, index->version, state->paths.log.string());
    return 0;
}

// Undoes every host change the installer recorded, last first: the node as it was before the first
// install. The store and the log are kept (the store makes a re-install read no bundle twice).
int run_reset(const Options& o)
{
    auto root = installer::system::RootDir::open(o.root, resolution(o));
    if (!root) return fail_with(root.error());
    auto existing = installer::node::NodePaths::resolve(*root, installer::system::Create::no);
    if (!existing) return fail_with(existing.error());
    std::error_code ec;
    if (!std::filesystem::exists(existing->state / "changes.jsonl", ec)) {
        fmt::print("nothing to reset: the installer has recorded no change under {}\n", o.root.string());
        return 0;
    }
    installer::engine::Logger log;
    auto state = open_node_state(*root, log);
    if (!state) return fail_with(state.error());
    std::size_t pending = state->changes.pending().size();
    if (pending == 0) {
        log.info("nothing to reset: every recorded change under {} is already undone", o.root.string());
        return 0;
    }
    if (!o.yes && ::isatty(STDIN_FILENO) &&
        !confirm(fmt::format("Undo {} recorded changes (installed files, folders, services) under {}?", pending, o.root.string())))
        return fail_with({common::Errc::failed_precondition, "cancelled by the operator"});
    installer::system::HostSystem sys(*root, &state->changes, {state->paths.state});
    log.detail(fmt::format("reset: undoing {} changes", pending));
    auto report = sys.undo_all();
    if (!report) {
        log.error("{}", report.error().message);
        log.info("run --reset again to finish; log: {}", state->paths.log.string());
        return 1;
    }
    for (const common::bundle::PhaseInfo& p : common::bundle::phase_table())
        if (p.level == common::bundle::PhaseLevel::host)
            if (auto ok = state->journal.record_for_done(std::string(p.name), "undone"); !ok) return fail_with(ok.error());
    for (const std::string& kept : report->kept) log.info("  kept {}", kept);
    if (o.purge) log.info("reset: undid {} changes", report->undone);
    else
        log.info("reset: undid {} changes; the store and the log are kept in {} (remove it to free the space, or --reset --purge)",
                 report->undone, state->paths.state.string());
    return 0;
}

// After a reset: removes the installer's state folder and its log, so the root is as before the first
// install. Refused while a recorded change is not undone (the reset needs the change log and backups).
int run_purge(const Options& o)
{
    auto root = installer::system::RootDir::open(o.root, resolution(o));
    if (!root) return fail_with(root.error());
    auto paths = installer::node::NodePaths::resolve(*root, installer::system::Create::no);
    if (!paths) return fail_with(paths.error());
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(paths->state, ec)) && !fs::exists(fs::symlink_status(paths->log, ec))) {
        fmt::print("nothing to purge: no installer state under {}\n", o.root.string());
        return 0;
    }
    if (!o.yes && ::isatty(STDIN_FILENO) &&
        !confirm(fmt::format("Remove the installer's state (store, journal, change log, support bundles) and log under {}?", o.root.string())))
        return fail_with({common::Errc::failed_precondition, "cancelled by the operator"});
    auto report = installer::node::purge_state(*root);
    if (!report) return fail_with(report.error());
    for (const std::string& kept : report->kept) fmt::print("  kept {}\n", kept);
    fmt::print("purge: removed {}\n", fmt::join(report->removed, ", "));
    return 0;
}

// Reads the node's state and prints it; writes nothing to the node (the lock only tested, no log).
int run_status(Options o)
{
    auto root = installer::system::RootDir::open(o.root, resolution(o));
    if (!root) return fail_with(root.error());
    // The bundle this program carries, if any, names the installed one when the node keeps no copy of
    // its index. A bare installer, or a damaged bundle, carries none: the status still shows.
    std::error_code ec;
    if (o.bundle == "/proc/self/exe") o.bundle = fs::read_symlink(o.bundle, ec);
    std::optional<common::bundle::BundleIndex> carried;
    installer::engine::CarriedBundle bundle;
    if (auto bf = common::bundle::BundleFile::open(o.bundle))
        if (auto index = bf->read_index()) {
            carried = std::move(*index);
            bundle = {bf->trailer().bundle_json_sha256.str(), &*carried};
        }
    auto status = installer::engine::read_node_status(*root, bundle);
    if (!status) return fail_with(status.error());
    if (o.json) fmt::print("{}\n", installer::engine::to_json(*status).dump(2));
    else fmt::print("{}", installer::engine::render_text(*status));
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    CLI::App app{"platform-installer: verify this bundle and install it on this node.\n"
                 "  ./platform-installer.run --check             verify every byte, change nothing\n"
                 "  ./platform-installer.run --info | --list     what the bundle holds\n"
                 "  ./platform-installer.run --extract DIR       verify, then unpack the payload into DIR\n"
                 "  ./platform-installer.run --role master       install (first master first), as root\n"
                 "  ./platform-installer.run --config cluster.yaml  the same, this node's role and peers from the inventory\n"
                 "  ./platform-installer.run --status [--json]   what is installed on this node; changes nothing\n"
                 "  ./platform-installer.run --reset [--purge]   undo what installs changed on this node [and remove the installer's state]"};
    Options o;
    app.add_flag("--check", o.check, "verify installer, payload and trailer digests and every blob; change nothing");
    app.add_flag("--info", o.info, "print the bundle's profile, roles, platforms and digests");
    app.add_flag("--list", o.list, "list the bundle's files and blobs");
    app.add_option("--extract", o.extract, "verify, then unpack bundle.json and blobs/ into DIR (must be empty)")->type_name("DIR");
    app.add_option("--role", o.role, "install this node as master or worker (with --config: taken from cluster.yaml)")->type_name("ROLE");
    app.add_option("--config", o.config, "cluster.yaml: the cluster's nodes, roles, addresses and VIP (docs/formats.md)")->type_name("FILE");
    app.add_option("--node", o.node_name, "which node of cluster.yaml this is (default: by hostname, else by an address it holds)")
        ->type_name("NAME");
    app.add_option("--registry-listen", o.node.registry_listen, "where this node's registry serves the bundle's images ([IP]:PORT)")
        ->capture_default_str()
        ->type_name("ADDR");
    app.add_option("--registry-peer", o.node.registry_peers,
                   "another node's registry to pull from when this one cannot serve (the masters'; repeatable): http://IP:PORT")
        ->type_name("URL");
    app.add_option("--k3s-ready-timeout", o.node.k3s_ready_timeout_s, "how long the k3s phase waits for the node to be Ready (seconds)")
        ->capture_default_str()
        ->type_name("SECONDS");
    app.add_option("--apt-lock-timeout", o.node.apt_lock_timeout_s,
                   "seconds the apt phase waits for another apt or dpkg (unattended-upgrades) to release the dpkg lock")
        ->type_name("SECONDS")->capture_default_str()->check(CLI::Range(0, 86400));
    app.add_flag("--reset", o.reset, "undo every change the installer made on this node (files, folders, services), last first");
    app.add_flag("--purge", o.purge,
                 "with --reset: then remove the installer's state (store, journal, change log, support bundles) and its log");
    app.add_flag("--status", o.status,
                 "print the installed bundle, each phase's status and times, services and store size; change nothing");
    app.add_flag("--json", o.json, "with --status: print it as one JSON object (docs/formats.md)");
    app.add_option("--root", o.root, "install into this target root instead of /")->type_name("DIR")->capture_default_str();
    app.add_flag("--dry-run", o.dry_run, "print the plan (what is done, what is to do) and change nothing");
    app.add_flag("--yes,-y", o.yes, "do not ask for confirmation");
    app.add_option("--only", o.only, "run only these phases (repeatable or comma-separated)")->delimiter(',')->type_name("PHASE");
    app.add_option("--skip", o.skip, "skip these phases")->delimiter(',')->type_name("PHASE");
    app.add_option("--from", o.from, "start at this phase")->type_name("PHASE");
    app.add_option("--skip-check", o.skip_checks, "skip one preflight check by id (repeatable): root, os, arch, cpu, memory, disk, store-space; with --config: gpu-driver, runtimes, swap, hostname, address, registration, join-order, clock")
        ->delimiter(',')
        ->type_name("ID");
    app.footer("State: /var/lib/platform-installer (store, journal.jsonl, changes.jsonl and backups/ for --reset, preflight.json, "
               "bundle.json for --status); log: "
               "/var/log/platform-installer.log (both under --root).\n"
               "Re-running is safe: finished phases are checked and skipped; an interrupted run resumes.\n"
               "Exit status: 0 done (--status: also when nothing is installed), 1 failed (nothing half-installed is left unrecorded), 2 usage error.");
    app.add_option("--signer", o.signer, "refuse this bundle unless it is signed by KEY: sha256:<fingerprint> or a PEM key file")
        ->type_name("KEY");
    app.add_option("--bundle", o.bundle, "read this .run file instead of the running program")->group("");
    app.add_option("--resolve", o.resolve, "how paths are resolved in the root (tests)")->check(CLI::IsMember({"automatic", "walk"}))->group("");
    CLI::App* verify = app.add_subcommand("verify", "same as --check");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
    ::umask(022); // folders and files get exactly the modes asked for, whatever the operator's shell set
    try {
        // Reset works from the change log alone: a damaged bundle must not keep a node from being reset.
        if (o.reset && (!o.role.empty() || !o.config.empty()))
            return fail_with({common::Errc::invalid_argument, "give --reset or --role/--config, not both"});
        if (o.purge && !o.reset) return fail_with({common::Errc::invalid_argument, "--purge goes with --reset"});
        if (o.json && !o.status) return fail_with({common::Errc::invalid_argument, "--json goes with --status"});
        if (o.status && (o.reset || !o.role.empty() || !o.config.empty()))
            return fail_with({common::Errc::invalid_argument, "give --status alone (with --root, --json), not with --reset, --role or --config"});
        if (o.status) return run_status(o);
        if (o.reset) {
            int rc = run_reset(o);
            return rc != 0 || !o.purge ? rc : run_purge(o);
        }
        std::error_code ec;
        // Name the real file in messages, not /proc/self/exe.
        if (o.bundle == "/proc/self/exe") o.bundle = fs::read_symlink(o.bundle, ec);
        auto bf = common::bundle::BundleFile::open(o.bundle);
        if (!bf) return fail_with(bf.error());
        if (!o.signer.empty()) {
            // Pinning the signer is what refuses a re-signed bundle: its digests and signature would all check.
            auto trusted = common::bundle::parse_signer(o.signer);
            if (!trusted) return fail_with(trusted.error());
            if (auto ok = bf->require_signer(*trusted); !ok) return fail_with(ok.error());
        }
        if (o.check || verify->parsed()) return run_check(*bf);
        if (o.info || o.list) {
            auto index = bf->read_index();
            if (!index) return fail_with(index.error());
            if (o.info) fmt::print("{}", common::bundle::describe(*bf, *index));
            if (o.list) fmt::print("{}", common::bundle::list_artifacts(*index));
            return 0;
        }
        if (!o.extract.empty()) return run_extract(*bf, o.extract);
        if (!o.role.empty() || !o.config.empty()) return run_install(*bf, o);
        fmt::print(stderr, "{}\nnothing to do: give --check, --info, --list, --extract DIR, --role master|worker or --config cluster.yaml\n", app.help());
        return 2;
    } catch (const std::exception& e) {
        fmt::print(stderr, "error: internal: {}\n", e.what());
        return 1;
    }
}
