// SPDX-License-Identifier: Apache-2.0
// The system seam: the file contract run against both implementations, the change log and its undo
// (the tree comes back, modes included), commands, and services (plain processes for real; systemd
// through a stand-in systemctl, since systemd does not run here).
#include <doctest/doctest.h>

#include "scratch.hpp"
#include "tree.hpp"

#include <installer/system/change_log.hpp>
#include <installer/system/host_system.hpp>
#include <installer/system/recording_system.hpp>
#include <installer/system/service_unit.hpp>

#include <chrono>
#include <csignal>
#include <sstream>
#include <fstream>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

using namespace installer::system;
namespace fs = std::filesystem;

TEST_SUITE_BEGIN("seam");

namespace {

// A root, its state folder (outside the root, as a test may put it) and a HostSystem over them.
struct Node {
    Scratch s;
    fs::path root = s / "root";
    fs::path state = s / "state";
    std::optional<RootDir> dir;
    std::optional<ChangeLog> changes;
    std::optional<HostSystem> host;

    explicit Node(ServiceMode services = ServiceMode::plain, std::string path_env = {})
    {
        fs::create_directories(root);
        fs::create_directories(state);
        dir.emplace(RootDir::open(root).value());
        changes.emplace(ChangeLog::open(state).value());
        HostOptions o{state, services};
        if (!path_env.empty()) o.path_env = path_env;
        host.emplace(*dir, &*changes, o);
        host->begin_phase("test");
    }
};

common::store::BlobRef put_blob(const common::store::BlobStore& store, const std::string& content)
{
    auto digest = common::digest::sha256_of(content);
    common::store::BlobRef ref{digest, content.size()};
    auto ingest = store.begin(ref);
    REQUIRE(ingest);
    REQUIRE(ingest->write(std::as_bytes(std::span(content.data(), content.size()))));
    REQUIRE(ingest->commit());
    return ref;
}

std::string read(const fs::path& p)
{
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

unsigned mode_of(const fs::path& p)
{
    struct stat st {};
    ::lstat(p.c_str(), &st);
    return st.st_mode & 07777;
}

// The System file contract, whatever the implementation.
void check_file_contract(System& sys, const fs::path& root, const common::store::BlobStore& store)
{
    REQUIRE(sys.write_file("/etc/app/config.yaml", "a: 1\n", {0600, {}, {}}));
    CHECK(read(root / "etc/app/config.yaml") == "a: 1\n");
    CHECK(mode_of(root / "etc/app/config.yaml") == 0600);
    auto info = sys.stat("/etc/app/config.yaml");
    REQUIRE(info);
    CHECK(info->kind == FileKind::regular);
    CHECK(info->mode == 0600);
    CHECK(info->size == 5);
    CHECK(sys.read_file("/etc/app/config.yaml", 100).value() == "a: 1\n");
    CHECK(sys.hash_file("/etc/app/config.yaml").value().digest == common::digest::sha256_of("a: 1\n"));
    CHECK(!sys.read_file("/etc/app/config.yaml", 3)); // over the cap

    auto blob = put_blob(store, "#!/bin/sh\necho k3s\n");
    REQUIRE(sys.install_blob("/usr/local/bin/k3s", store, blob, {0755, {}, {}}));
    CHECK(read(root / "usr/local/bin/k3s") == "#!/bin/sh\necho k3s\n");
    CHECK(mode_of(root / "usr/local/bin/k3s") == 0755);
    // A wrong ref is refused naming the stored blob, and the target is left as it was.
    common::store::BlobRef wrong{common::digest::sha256_of("other"), blob.size};
    fs::copy_file(store.blob_path(blob.digest), store.blob_path(wrong.digest));
    auto bad = sys.install_blob("/usr/local/bin/k3s", store, wrong, {0755, {}, {}});
    REQUIRE(!bad);
    CHECK(bad.error().code == common::Errc::digest_mismatch);
    CHECK(read(root / "usr/local/bin/k3s") == "#!/bin/sh\necho k3s\n");

    REQUIRE(sys.make_dir("/var/lib/app", 0700));
    CHECK(mode_of(root / "var/lib/app") == 0700);
    REQUIRE(sys.symlink("/usr/local/bin/k3s", "/usr/local/bin/kubectl"));
    CHECK(fs::read_symlink(root / "usr/local/bin/kubectl") == "/usr/local/bin/k3s");
    CHECK(sys.stat("/usr/local/bin/kubectl").value().kind == FileKind::symlink);
    REQUIRE(sys.hard_link("/usr/local/bin/k3s", "/var/lib/app/k3s"));
    CHECK(fs::equivalent(root / "usr/local/bin/k3s", root / "var/lib/app/k3s"));
    REQUIRE(sys.remove("/etc/app/config.yaml"));
    CHECK(!fs::exists(root / "etc/app/config.yaml"));
    CHECK(sys.stat("/etc/app/config.yaml").value().kind == FileKind::missing);
    CHECK(sys.remove("/etc/app/never-there"));
    CHECK(sys.stat("/no/such/folder/file").value().kind == FileKind::missing);
    CHECK(sys.read_file("/no/such/file", 10).error().code == common::Errc::not_found);
    // No temp file is left beside any target.
    for (const auto& e : fs::recursive_directory_iterator(root))
        CHECK_MESSAGE(e.path().filename().string().find(".tmp-") == std::string::npos, e.path());
}

} // namespace

TEST_CASE("System file contract: HostSystem")
{
    Node n;
    auto store = common::store::BlobStore::open(n.s / "store").value();
    check_file_contract(*n.host, n.root, store);
}

TEST_CASE("System file contract: RecordingSystem over a HostSystem records every change")
{
    Node n;
    auto store = common::store::BlobStore::open(n.s / "store").value();
    RecordingSystem rec(*n.host);
    check_file_contract(rec, n.root, store);
    const auto& a = rec.actions();
    REQUIRE(a.size() >= 7);
    CHECK(a.front() == "write_file /etc/app/config.yaml 0600");
    CHECK(std::find(a.begin(), a.end(), "symlink /usr/local/bin/kubectl -> /usr/local/bin/k3s") != a.end());
    CHECK(std::find(a.begin(), a.end(), "remove /etc/app/config.yaml") != a.end());
}

TEST_CASE("HostSystem refuses changes without a change log")
{
    Scratch s;
    fs::create_directories(s / "root");
    auto root = RootDir::open(s / "root").value();
    HostSystem sys(root, nullptr, {s / "state"});
    auto r = sys.write_file("/etc/x", "x", {});
    REQUIRE(!r);
    CHECK(r.error().code == common::Errc::failed_precondition);
    CHECK(!fs::exists(s / "root/etc"));
    CHECK(sys.stat("/etc/x").value().kind == FileKind::missing); // reads are fine
}

TEST_CASE("undo_all takes a recorded install back: files - links - folders and modes as they were")
{
    Node n;
    // What the node held before: a 0600 config, a 0750 folder, a link, a file the install removes.
    fs::create_directories(n.root / "etc/app");
    fs::permissions(n.root / "etc/app", fs::perms(0750));
    std::ofstream(n.root / "etc/app/config.yaml") << "operator's own\n";
    fs::permissions(n.root / "etc/app/config.yaml", fs::perms(0600));
    fs::create_directories(n.root / "usr/bin");
    fs::create_symlink("/usr/bin/true", n.root / "usr/bin/tool");
    std::ofstream(n.root / "etc/old.conf") << "old\n";
    fs::permissions(n.root / "etc/old.conf", fs::perms(0640));
    std::string before = tree_snapshot(n.root);

    auto store = common::store::BlobStore::open(n.s / "store").value();
    auto blob = put_blob(store, "binary\n");
    REQUIRE(n.host->write_file("/etc/app/config.yaml", "ours\n", {0644, {}, {}}));
    REQUIRE(n.host->write_file("/etc/app/config.yaml", "ours, again\n", {0644, {}, {}}));
    REQUIRE(n.host->install_blob("/opt/platform/bin/tool", store, blob, {0755, {}, {}}));
    REQUIRE(n.host->install_blob("/usr/bin/tool", store, blob, {0755, {}, {}})); // over the link
    REQUIRE(n.host->remove("/etc/old.conf"));
    REQUIRE(n.host->make_dir("/var/lib/platform/data", 0700));
    REQUIRE(n.host->symlink("/opt/platform/bin/tool", "/usr/local/bin/tool"));
    CHECK(tree_snapshot(n.root) != before);

    auto report = n.host->undo_all();
    REQUIRE(report);
    CHECK(report->kept.empty());
    CHECK(tree_snapshot(n.root) == before);
    CHECK(n.changes->pending().empty());
    // Done is done: a second undo finds nothing, and the change log survives a reopen.
    CHECK(n.host->undo_all().value().undone == 0);
    CHECK(ChangeLog::open(n.state).value().pending().empty());
}

TEST_CASE("undo_all after a crash mid-phase: journaled changes that never happened are harmless")
{
    Node n;
    std::ofstream(n.root / "kept") << "kept\n";
    fs::create_directories(n.root / "etc");
    std::ofstream(n.root / "etc/motd") << "welcome\n";
    std::string before = tree_snapshot(n.root);
    REQUIRE(n.host->write_file("/etc/platform/a", "a", {}));
    // The kill came after these were journaled and before they were done (no backup was taken, no
    // rename happened), and left a temp file beside a target.
    REQUIRE(n.changes->record({0, "test", ChangeOp::replace, "/etc/motd", true}));
    REQUIRE(n.changes->record({0, "test", ChangeOp::create, "/etc/platform/b", false}));
    std::ofstream(n.root / "etc/platform/.b.tmp-AbC123") << "half";

    REQUIRE(n.host->undo_all());
    CHECK(tree_snapshot(n.root) == before);
}

TEST_CASE("undo_all keeps a folder the operator has since put files in - and says so")
{
    Node n;
    REQUIRE(n.host->write_file("/srv/platform/config", "x", {}));
    std::ofstream(n.root / "srv/platform/operator-notes") << "mine\n";
    auto report = n.host->undo_all();
    REQUIRE(report);
    CHECK(!fs::exists(n.root / "srv/platform/config"));
    CHECK(fs::exists(n.root / "srv/platform/operator-notes"));
    // Both folders it made stay (each holds something now), each named.
    REQUIRE(report->kept.size() == 2);
    CHECK(report->kept[0].starts_with("/srv/platform: folder not empty"));
    CHECK(report->kept[1].starts_with("/srv: folder not empty"));
}

TEST_CASE("a replaced file's backup survives when the state is on another filesystem")
{
    Scratch s;
    fs::path shm = "/dev/shm";
    struct stat a {}, b {};
    if (::stat(shm.c_str(), &a) != 0 || ::stat(s.path().c_str(), &b) != 0 || a.st_dev == b.st_dev) {
        MESSAGE("skipped: /dev/shm is not another filesystem here");
        return;
    }
    fs::path state = shm / fmt::format("pi-unit-state-{}", ::getpid());
    fs::create_directories(s / "root/etc");
    std::ofstream(s / "root/etc/motd") << "welcome\n";
    fs::permissions(s / "root/etc/motd", fs::perms(0604));
    std::string before = tree_snapshot(s / "root");
    {
        auto root = RootDir::open(s / "root").value();
        auto changes = ChangeLog::open(state).value();
        HostSystem sys(root, &changes, {state});
        sys.begin_phase("test");
        REQUIRE(sys.write_file("/etc/motd", "ours\n", {}));
        REQUIRE(sys.undo_all());
    }
    fs::remove_all(state);
    CHECK(tree_snapshot(s / "root") == before);
}

TEST_CASE("ChangeLog: records in order - survives a torn last line - forgets nothing undone")
{
    Scratch s;
    {
        auto log = ChangeLog::open(s.path()).value();
        CHECK(log.record({0, "binaries", ChangeOp::create, "/a", false}).value().seq == 1);
        CHECK(log.record({0, "binaries", ChangeOp::replace, "/b", true}).value().seq == 2);
        REQUIRE(log.mark_undone(2));
    }
    std::ofstream(s / "changes.jsonl", std::ios::app) << "{\"seq\":3,\"pha";
    auto log = ChangeLog::open(s.path()).value();
    auto pending = log.pending();
    REQUIRE(pending.size() == 1);
    CHECK(pending[0].path == "/a");
    CHECK(log.record({0, "binaries", ChangeOp::mkdir, "/c", false}).value().seq == 3);
    CHECK(ChangeLog::open(s.path()).value().pending().size() == 2);
}

TEST_CASE("HostSystem::run: exit status - output - environment and timeout")
{
    Node n;
    auto r = n.host->run({{"/bin/sh", "-c", "echo out; echo err >&2; echo \"$GREETING $PATH\"; exit 3"}, {{"GREETING", "hi"}},
                          std::chrono::seconds(30), InRoot::no});
    REQUIRE(r);
    CHECK(r->exit_code == 3);
    CHECK(r->output.find("out\n") != std::string::npos);
    CHECK(r->output.find("err\n") != std::string::npos);
    CHECK(r->output.find("hi /usr/local/sbin:") != std::string::npos);
    auto missing = n.host->run({{"no-such-program-here"}, {}, std::chrono::seconds(5), InRoot::no});
    REQUIRE(missing);
    CHECK(missing->exit_code == 127);
    CHECK(missing->output.find("cannot run no-such-program-here") != std::string::npos);

    auto start = std::chrono::steady_clock::now();
    auto slow = n.host->run({{"/bin/sh", "-c", "sleep 30 & sleep 30"}, {}, std::chrono::seconds(1), InRoot::no});
    REQUIRE(!slow);
    CHECK(slow.error().code == common::Errc::failed_precondition);
    CHECK(slow.error().message.find("did not finish within 1 s") != std::string::npos);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(20));
}

TEST_CASE("HostSystem::run inside the root: the command sees the root as /")
{
    if (::geteuid() != 0 || !fs::exists("/bin/busybox")) {
        MESSAGE("skipped: chroot needs root and busybox-static (scripts/setup)");
        return;
    }
    Node n;
    fs::create_directories(n.root / "bin");
    fs::copy_file("/bin/busybox", n.root / "bin/busybox");
    std::ofstream(n.root / "marker") << "inside\n";
    auto r = n.host->run({{"/bin/busybox", "sh", "-c", "/bin/busybox cat /marker; echo written > /out"}, {}, std::chrono::seconds(30), InRoot::yes});
    REQUIRE(r);
    CHECK(r->exit_code == 0);
    CHECK(r->output == "inside\n");
    CHECK(read(n.root / "out") == "written\n");
}

TEST_CASE("plain services: a real process with a pid file - started - found active - stopped - and stopped by undo")
{
    if (::geteuid() != 0 || !fs::exists("/bin/busybox")) {
        MESSAGE("skipped: services in a root need chroot (root) and busybox-static (scripts/setup)");
        return;
    }
    Node n(ServiceMode::plain);
    fs::create_directories(n.root / "bin");
    fs::copy_file("/bin/busybox", n.root / "bin/busybox");
    ServiceSpec spec{"pi-test-sleeper", "a test service", {"/bin/busybox", "sh", "-c", "echo \"started $MESSAGE\"; exec /bin/busybox sleep 300"},
                     {{"MESSAGE", "100% $fine"}}};
    REQUIRE(n.host->install_service(spec));
    CHECK(fs::is_symlink(n.root / "etc/systemd/system/multi-user.target.wants/pi-test-sleeper.service"));
    CHECK(!n.host->service_active("pi-test-sleeper").value());
    REQUIRE(n.host->start_service("pi-test-sleeper"));
    CHECK(n.host->service_active("pi-test-sleeper").value());
    REQUIRE(n.host->start_service("pi-test-sleeper")); // already running: nothing to do
    std::istringstream pid_text(read(n.state / "services/pi-test-sleeper.pid"));
    pid_t pid = 0;
    pid_text >> pid;
    REQUIRE(pid > 1);
    CHECK(::kill(pid, 0) == 0);
    for (int i = 0; i < 50 && read(n.state / "services/pi-test-sleeper.log").empty(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(read(n.state / "services/pi-test-sleeper.log") == "started 100% $fine\n");

    REQUIRE(n.host->stop_service("pi-test-sleeper"));
    CHECK(!n.host->service_active("pi-test-sleeper").value());
    REQUIRE(n.host->start_service("pi-test-sleeper"));
    REQUIRE(n.host->undo_all()); // stops it, removes the unit and the link
    CHECK(!n.host->service_active("pi-test-sleeper").value());
    CHECK(!fs::exists(n.root / "etc/systemd"));
}

TEST_CASE("systemd services: units - enablement and systemctl calls (a recording systemctl stands in: systemd does not run here)")
{
    Scratch bin;
    bin.write("systemctl", "#!/bin/sh\necho \"$@\" >> \"$(dirname \"$0\")/calls\"\n"
                           "case \"$1\" in is-active) grep -q '^start' \"$(dirname \"$0\")/calls\" && ! grep -q '^stop' \"$(dirname \"$0\")/calls\";; esac\n");
    fs::permissions(bin / "systemctl", fs::perms(0755));
    Node n(ServiceMode::systemd, bin.path().string() + ":/usr/bin:/bin");
    REQUIRE(n.host->install_service({"registry", "platform registry", {"/usr/local/bin/registry", "serve", "/etc/registry/config.yml"}, {}}));
    REQUIRE(n.host->start_service("registry"));
    CHECK(n.host->service_active("registry").value());
    REQUIRE(n.host->undo_all());
    CHECK(read(bin / "calls") == "daemon-reload\nis-active --quiet registry.service\nstart registry.service\n"
                                 "is-active --quiet registry.service\nstop registry.service\n");
    CHECK(!fs::exists(n.root / "etc/systemd/system/registry.service"));
}

TEST_CASE("RecordingSystem records commands and services and never runs them")
{
    Node n;
    RecordingSystem rec(*n.host);
    rec.answer("k3s", [](const Command& c) { return CommandResult{0, "k3s " + c.argv.back() + "\n"}; });
    auto r = rec.run({{"k3s", "--version"}, {}, std::chrono::seconds(5), InRoot::yes});
    REQUIRE(r);
    CHECK(r->output == "k3s --version\n");
    CHECK(rec.run({{"/definitely/not/installed"}, {}, std::chrono::seconds(5), InRoot::no}).value().exit_code == 0);
    REQUIRE(rec.install_service({"k3s", "", {"/usr/local/bin/k3s", "server"}, {}}));
    REQUIRE(rec.start_service("k3s"));
    CHECK(rec.service_active("k3s").value());
    CHECK(rec.actions() == std::vector<std::string>{"run [root] k3s --version", "run /definitely/not/installed",
                                                   "install_service k3s /usr/local/bin/k3s server", "start_service k3s"});
    CHECK(fs::exists(n.root / "etc/systemd/system/k3s.service"));
}

TEST_CASE("service units round-trip quotes - backslashes - % and $")
{
    ServiceSpec spec{"svc", "d", {"/bin/x", "a b", "q\"uote", "back\\slash", "100%", "$HOME"}, {{"K", "v \"1\" %d $x"}}};
    std::string unit = render_unit(spec);
    CHECK(unit.find("ExecStart=\"/bin/x\" \"a b\" \"q\\\"uote\" \"back\\\\slash\" \"100%%\" \"$$HOME\"") != std::string::npos);
    auto back = parse_unit(unit, "svc");
    REQUIRE(back);
    CHECK(back->exec == spec.exec);
    CHECK(back->env == spec.env);
    CHECK(parse_unit("[Service]\nExecStart=/bin/unquoted\n", "svc").error().code == common::Errc::corrupt);
    CHECK(!check_service_name("Bad Name"));
    CHECK(check_service_name("k3s-agent"));
}

TEST_SUITE_END();
