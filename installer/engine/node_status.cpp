// SPDX-License-Identifier: Apache-2.0
#include <installer/engine/node_status.hpp>

#include <installer/engine/journal_history.hpp>
#include <installer/node/node_paths.hpp>
#include <installer/system/host_system.hpp>

#include <common/bundle/phase_table.hpp>
#include <common/digest/sha256.hpp>
#include <common/io/file.hpp>
#include <common/util/progress.hpp>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <dirent.h>
#include <fcntl.h>
#include <set>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace installer::engine {

namespace {

using common::Errc;
using common::fail;
using common::Result;

constexpr std::uint64_t k_max_state_file = 64u << 20; // as JsonlFile reads the journal and the change log
constexpr std::string_view k_k3s_binary = "/usr/local/bin/k3s";
constexpr std::string_view k_dpkg_status = "/var/lib/dpkg/status";

std::string state_file(std::string_view name) { return fmt::format("{}/{}", node::NodePaths::k_state, name); }

// A node file's text; empty when it does not exist.
Result<std::string> read_if_present(system::System& sys, const std::string& path, std::uint64_t max_bytes)
{
    auto text = sys.read_file(path, max_bytes);
    if (!text && text.error().code == Errc::not_found) return std::string();
    return text;
}

// True when another installer holds the node lock: a shared lock is refused while it does. Ours is let
// go at once (the file closes) and the lock file is only opened for reading.
bool installer_running(const system::RootDir& root)
{
    auto lock = root.open_file(state_file("install.lock"));
    if (!lock) return false;
    if (::flock(lock->fd(), LOCK_SH | LOCK_NB) == 0) return false;
    return errno == EWOULDBLOCK;
}

// Blob count and bytes of the store: regular files in blobs/sha256, never following a link.
Result<std::pair<std::uint64_t, std::uint64_t>> store_usage(const system::RootDir& root)
{
    auto dir = root.open_dir(fmt::format("{}/blobs/sha256", node::NodePaths::k_store), system::Create::no);
    if (!dir && dir.error().code == Errc::not_found) return std::pair<std::uint64_t, std::uint64_t>{0, 0};
    if (!dir) return fail(dir.error());
    int fd = ::fcntl(dir->fd.fd(), F_DUPFD_CLOEXEC, 0);
    DIR* d = fd < 0 ? nullptr : ::fdopendir(fd);
    if (!d) {
        int err = errno;
        if (fd >= 0) ::close(fd);
        return common::fail_errno("list the store", err);
    }
    std::uint64_t blobs = 0, bytes = 0;
    while (const dirent* e = ::readdir(d)) {
        struct stat st {};
        if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
            ++blobs, bytes += static_cast<std::uint64_t>(st.st_size);
    }
    ::closedir(d);
    return std::pair{blobs, bytes};
}

// The change log's start and packages changes not undone, in order (grammar in change_log.hpp).
struct StartedByInstaller {
    std::vector<std::pair<std::string, std::string>> services; // name, phase
    std::vector<std::string> packages;
};

StartedByInstaller started_by_installer(std::string_view text)
{
    std::vector<nlohmann::json> changes;
    std::set<std::uint64_t> undone;
    for (std::size_t end; (end = text.find('\n')) != std::string_view::npos; text.remove_prefix(end + 1)) {
        nlohmann::json j = nlohmann::json::parse(text.substr(0, end), nullptr, false);
        if (j.is_discarded() || !j.is_object()) continue; // a torn line: that change never happened
        if (j.contains("undone") && j["undone"].is_number_unsigned()) undone.insert(j["undone"].get<std::uint64_t>());
        else if (j.value("seq", nlohmann::json()).is_number_unsigned() && j.value("path", nlohmann::json()).is_string())
            changes.push_back(std::move(j));
    }
    StartedByInstaller out;
    for (const nlohmann::json& c : changes) {
        if (undone.contains(c["seq"].get<std::uint64_t>())) continue;
        std::string op = c.value("op", ""), path = c["path"].get<std::string>();
        if (op == "start" && std::none_of(out.services.begin(), out.services.end(), [&](const auto& s) { return s.first == path; }))
            out.services.emplace_back(path, c.value("phase", ""));
        if (op == "packages")
            for (std::size_t at = 0; at < path.size();) {
                std::size_t end = std::min(path.find(' ', at), path.size());
                if (end > at) out.packages.push_back(path.substr(at, end - at));
                at = end + 1;
            }
    }
    return out;
}

// The version dpkg's status file gives an installed package ("Status: install ok installed"); empty
// when it has none. Stanzas are separated by blank lines; continuation lines start with a space.
std::string installed_version(std::string_view status, std::string_view package)
{
    std::string_view name, state, version;
    auto found = [&] { return name == package && state.ends_with(" installed"); };
    while (true) {
        std::size_t end = status.find('\n');
        std::string_view line = status.substr(0, end);
        if (line.empty()) {
            if (found()) return std::string(version);
            name = state = version = {};
        } else if (line.front() != ' ' && line.front() != '\t' && line.find(':') != std::string_view::npos) {
            std::string_view key = line.substr(0, line.find(':')), value = line.substr(line.find(':') + 1);
            while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
            if (key == "Package") name = value;
            else if (key == "Status") state = value;
            else if (key == "Version") version = value;
        }
        if (end == std::string_view::npos) return found() ? std::string(version) : std::string();
        status.remove_prefix(end + 1);
    }
}

// The bundle's index the journal names: the node's copy (<state>/bundle.json) when its bytes have that
// digest, else the index of the bundle this program carries when it is that bundle.
Result<std::optional<common::bundle::BundleIndex>> recorded_index(system::System& sys, const std::string& bundle_id,
                                                                 const CarriedBundle& carried)
{
    auto copy = read_if_present(sys, state_file("bundle.json"), common::io::k_max_document_bytes);
    if (!copy) return fail(copy.error());
    if (!copy->empty() && common::digest::sha256_of(*copy).str() == bundle_id)
        if (auto index = common::bundle::BundleIndex::parse(*copy)) return std::optional(std::move(*index));
    if (carried.index && carried.id == bundle_id) return std::optional(*carried.index);
    return std::optional<common::bundle::BundleIndex>();
}

std::vector<PhaseStatus> phase_statuses(const JournalHistory& journal, const NodeStatus& st, const common::bundle::RolePlan* plan)
{
    std::vector<PhaseStatus> out;
    for (const common::bundle::PhaseInfo& info : common::bundle::phase_table()) {
        std::string name(info.name);
        PhaseRecord r = journal.phase(st.bundle_id, st.role, name);
        PhaseStatus p{name, std::string(common::bundle::to_string(info.level)), r.event.empty() ? "none" : r.event, true, {}, {}, {}};
        if (r.event == "start") p.status = st.running ? "running" : "interrupted";
        p.in_plan = plan ? std::find(plan->phases.begin(), plan->phases.end(), name) != plan->phases.end() : !r.event.empty();
        p.started = r.started;
        if (!r.event.empty() && r.event != "start") p.finished = r.time;
        p.seconds = r.seconds();
        out.push_back(std::move(p));
    }
    return out;
}

std::string overall_state(const NodeStatus& st)
{
    auto any = [&](std::string_view status, std::string_view level = "") {
        return std::any_of(st.phases.begin(), st.phases.end(),
                           [&](const PhaseStatus& p) { return p.status == status && (level.empty() || p.level == level); });
    };
    if (st.running) return "running";
    if (st.interrupted) return "interrupted";
    if (any("failed")) return "failed";
    if (any("undone", "host")) return "undone";
    bool all_done = std::all_of(st.phases.begin(), st.phases.end(), [](const PhaseStatus& p) { return !p.in_plan || p.status == "done"; });
    return all_done ? "installed" : "incomplete";
}

std::string utc(std::int64_t t)
{
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    char text[32] = "?";
    if (::gmtime_r(&tt, &tm)) std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S UTC", &tm);
    return text;
}

template <class T>
nlohmann::json or_null(const std::optional<T>& v)
{
    return v ? nlohmann::json(*v) : nlohmann::json();
}

nlohmann::json or_null(const std::string& v) { return v.empty() ? nlohmann::json() : nlohmann::json(v); }

} // namespace

Result<NodeStatus> read_node_status(const system::RootDir& root, const CarriedBundle& carried)
{
    NodeStatus st;
    st.root = root.path().string();
    auto paths = node::NodePaths::resolve(root, system::Create::no);
    if (!paths) return fail(paths.error());
    // Without a change log attached the seam refuses every change: only its reads are used here.
    system::HostSystem sys(root, nullptr, {paths->state});

    // 1. The journal: which bundle and role, and each phase's last event.
    auto journal_text = read_if_present(sys, state_file("journal.jsonl"), k_max_state_file);
    if (!journal_text) return fail(journal_text.error().wrap("journal"));
    JournalHistory journal = JournalHistory::parse(*journal_text);
    st.running = installer_running(root);
    if (journal.empty()) {
        st.state = "not installed";
        return st;
    }
    st.bundle_id = journal.last_bundle();
    st.role = journal.last_role();
    if (!st.running) st.interrupted = journal.unfinished(st.bundle_id, st.role);

    // 2. That bundle's index, when at hand: profile, version, the role's plan and files.
    auto index = recorded_index(sys, st.bundle_id, carried);
    if (!index) return fail(index.error());
    const common::bundle::RolePlan* plan = *index ? (*index)->role(st.role) : nullptr;
    if (*index) st.profile = (*index)->profile, st.version = (*index)->version;
    st.phases = phase_statuses(journal, st, plan);
    st.state = overall_state(st);

    // 3. What is installed: the bundle's files for this role, the packages the installer brought, k3s.
    if (*index)
        for (const common::bundle::FileEntry& f : (*index)->files) {
            if (!f.for_role(st.role)) continue;
            FileStatus fs{f.name, f.install, f.blob.digest.str(), "missing"};
            auto info = sys.stat(f.install);
            if (!info) return fail(info.error());
            if (info->kind == system::FileKind::regular) {
                auto have = sys.hash_file(f.install);
                if (!have) return fail(have.error());
                fs.state = have->digest == f.blob.digest && have->size == f.blob.size ? "installed" : "changed";
            }
            st.files.push_back(std::move(fs));
        }
    auto changes_text = read_if_present(sys, state_file("changes.jsonl"), k_max_state_file);
    if (!changes_text) return fail(changes_text.error().wrap("change log"));
    StartedByInstaller started = started_by_installer(*changes_text);
    if (!started.packages.empty()) {
        auto dpkg = read_if_present(sys, std::string(k_dpkg_status), k_max_state_file);
        if (!dpkg) return fail(dpkg.error());
        for (const std::string& name : started.packages) st.packages.push_back({name, installed_version(*dpkg, name)});
    }
    auto k3s = sys.stat(k_k3s_binary);
    if (!k3s) return fail(k3s.error());
    st.k3s_installed = k3s->kind == system::FileKind::regular;

    // 4. The services it started, and whether each runs (a pid file, or systemctl is-active).
    for (const auto& [name, phase] : started.services) {
        auto active = sys.service_active(name);
        if (!active) return fail(active.error());
        st.services.push_back({name, phase, *active});
    }

    // 5. The store.
    auto usage = store_usage(root);
    if (!usage) return fail(usage.error());
    std::tie(st.store_blobs, st.store_bytes) = *usage;
    return st;
}

std::string render_text(const NodeStatus& st)
{
    if (st.state == "not installed")
        return fmt::format("not installed under {}{}\n", st.root, st.running ? " (an installer is running now)" : "");
    std::string out;
    auto line = [&](std::string_view key, const std::string& value) { out += fmt::format("{:<10} {}\n", key, value); };
    line("root:", st.root);
    std::string state = st.state;
    if (st.running) state += ": an installer holds the node lock now";
    if (st.interrupted) state += fmt::format(": the last run stopped during phase {}; run the same command again to resume", *st.interrupted);
    line("state:", state);
    line("bundle:", fmt::format("{}, bundle.json {}", st.profile.empty() ? std::string("profile and version unknown (no copy of its index)")
                                                                          : st.profile + " " + st.version,
                                st.bundle_id));
    line("role:", st.role);
    out += "phases:\n";
    for (const PhaseStatus& p : st.phases) {
        std::string when;
        if (p.status == "none") when = p.in_plan ? "not run" : "not in this role's plan";
        else if (p.finished) when = utc(*p.finished) + (p.seconds ? fmt::format(", took {} s", *p.seconds) : std::string());
        else if (p.started) when = "started " + utc(*p.started);
        out += fmt::format("  {:<10} {:<12} {}\n", p.name, p.status == "none" ? "-" : p.status, when);
    }
    out += "installed:\n";
    for (const FileStatus& f : st.files) out += fmt::format("  file     {:<20} {:<40} {} ({})\n", f.name, f.path, f.state, f.digest);
    for (const PackageStatus& p : st.packages)
        out += fmt::format("  package  {:<20} {}\n", p.name, p.version.empty() ? std::string("not installed (dpkg)") : p.version);
    out += fmt::format("  k3s      {}\n", st.k3s_installed ? fmt::format("installed ({})", k_k3s_binary) : std::string("not installed"));
    out += "services:\n";
    if (st.services.empty()) out += "  none started by the installer\n";
    for (const ServiceStatus& s : st.services)
        out += fmt::format("  {:<20} {:<5} (started by phase {})\n", s.name, s.active ? "up" : "down", s.phase);
    line("store:", fmt::format("{} blobs, {} ({} bytes) in {}", st.store_blobs, common::human_bytes(st.store_bytes), st.store_bytes,
                               node::NodePaths::k_store));
    return out;
}

nlohmann::json to_json(const NodeStatus& st)
{
    nlohmann::json j{{"root", st.root},
                     {"state", st.state},
                     {"running", st.running},
                     {"interrupted", st.interrupted.has_value()},
                     {"interrupted_phase", or_null(st.interrupted)},
                     {"bundle", nullptr},
                     {"role", or_null(st.role)},
                     {"phases", nlohmann::json::array()},
                     {"files", nlohmann::json::array()},
                     {"packages", nlohmann::json::array()},
                     {"k3s", {{"path", k_k3s_binary}, {"installed", st.k3s_installed}}},
                     {"services", nlohmann::json::array()},
                     {"store", {{"path", node::NodePaths::k_store}, {"blobs", st.store_blobs}, {"bytes", st.store_bytes}}}};
    if (!st.bundle_id.empty())
        j["bundle"] = {{"profile", or_null(st.profile)}, {"version", or_null(st.version)}, {"bundle_json_sha256", st.bundle_id}};
    for (const PhaseStatus& p : st.phases)
        j["phases"].push_back({{"name", p.name},
                               {"level", p.level},
                               {"status", p.status},
                               {"in_plan", p.in_plan},
                               {"started", or_null(p.started)},
                               {"finished", or_null(p.finished)},
                               {"seconds", or_null(p.seconds)}});
    for (const FileStatus& f : st.files)
        j["files"].push_back({{"name", f.name}, {"path", f.path}, {"digest", f.digest}, {"state", f.state}});
    for (const PackageStatus& p : st.packages) j["packages"].push_back({{"name", p.name}, {"version", or_null(p.version)}});
    for (const ServiceStatus& s : st.services) j["services"].push_back({{"name", s.name}, {"phase", s.phase}, {"active", s.active}});
    return j;
}

Result<void> keep_bundle_index(const std::filesystem::path& state, const common::bundle::BundleIndex& index, std::string_view bundle_id)
{
    std::string json = index.to_json();
    // A bundle.json with keys this installer does not know does not round-trip: status then names only its digest.
    if (common::digest::sha256_of(json).str() != bundle_id) return {};
    std::filesystem::path path = state / "bundle.json";
    if (auto have = common::io::read_file(path, json.size() + 1); have && *have == json) return {};
    TRY_VOID(common::io::write_file_atomic(path, json));
    return {};
}

} // namespace installer::engine
