// SPDX-License-Identifier: Apache-2.0
// HostSystem: commands (fork, chroot into the root, exec, timeout) and services (systemd units, or plain
// processes with a pid file where systemd does not run the node).
#include <installer/system/host_system.hpp>
#include <installer/system/service_unit.hpp>

#include <common/io/file.hpp>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace installer::system {

using common::Errc;
using common::fail;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t k_output_cap = 1u << 20;

// What a child needs, made before fork: after fork only async-signal-safe calls are made.
struct Exec {
    std::vector<std::string> candidates; // argv[0] itself, or argv[0] in each PATH folder
    std::vector<std::string> argv_s, env_s;
    std::vector<char*> argv, env;

    Exec(const std::vector<std::string>& argv_in, const std::map<std::string, std::string>& env_in, const std::string& path)
        : argv_s(argv_in)
    {
        std::map<std::string, std::string> env_map{{"PATH", path}, {"LC_ALL", "C"}};
        for (const auto& [k, v] : env_in) env_map[k] = v;
        for (const auto& [k, v] : env_map) env_s.push_back(k + "=" + v);
        if (argv_in[0].find('/') != std::string::npos) candidates.push_back(argv_in[0]);
        else
            for (std::size_t start = 0; start <= env_map["PATH"].size();) {
                const std::string& p = env_map["PATH"];
                std::size_t end = std::min(p.find(':', start), p.size());
                if (end > start) candidates.push_back(p.substr(start, end - start) + "/" + argv_in[0]);
                start = end + 1;
            }
        for (std::string& a : argv_s) argv.push_back(a.data());
        argv.push_back(nullptr);
        for (std::string& e : env_s) env.push_back(e.data());
        env.push_back(nullptr);
    }

    // In the child: enter the root if asked, then exec the first candidate that exists. Returns errno.
    int exec(int root_fd) const
    {
        if (root_fd >= 0 && (::fchdir(root_fd) != 0 || ::chroot(".") != 0 || ::chdir("/") != 0)) return errno;
        int err = ENOENT;
        for (const std::string& c : candidates) {
            ::execve(c.c_str(), argv.data(), env.data());
            if (errno != ENOENT) err = errno;
        }
        return err;
    }
};

void write_all(int fd, const char* s)
{
    ssize_t n = ::write(fd, s, std::strlen(s));
    (void)n;
}

// Field 22 of /proc/<pid>/stat (start time in clock ticks since boot) and the state letter; a pid
// reused by another process has another start time.
std::optional<std::pair<char, std::string>> proc_stat(pid_t pid)
{
    auto text = common::io::read_file(fmt::format("/proc/{}/stat", pid), 64 * 1024);
    if (!text) return std::nullopt;
    std::size_t close = text->rfind(')');
    if (close == std::string::npos || close + 2 >= text->size()) return std::nullopt;
    std::istringstream in(text->substr(close + 2));
    std::string field, state, start;
    in >> state;
    for (int i = 4; i <= 22 && in >> field; ++i)
        if (i == 22) start = field;
    if (state.empty() || start.empty()) return std::nullopt;
    return std::pair{state[0], start};
}

} // namespace

HostSystem::HostSystem(const RootDir& root, ChangeLog* changes, HostOptions options)
    : m_root(root), m_changes(changes), m_options(std::move(options)), m_services(m_options.services)
{
    if (m_services == ServiceMode::automatic) {
        struct stat st {};
        bool booted = m_root.is_host() && ::stat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode);
        m_services = booted ? ServiceMode::systemd : ServiceMode::plain;
    }
}

Result<CommandResult> HostSystem::run(const Command& c)
{
    if (c.argv.empty()) return fail(Errc::invalid_argument, "run: no command");
    Exec exec(c.argv, c.env, m_options.path_env);
    int root_fd = c.in_root == InRoot::yes && !m_root.is_host() ? m_root.fd() : -1;
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return common::fail_errno("pipe", errno);
    int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    pid_t pid = ::fork();
    if (pid < 0) {
        int err = errno;
        ::close(fds[0]), ::close(fds[1]), ::close(null_fd);
        return common::fail_errno("fork", err);
    }
    if (pid == 0) {
        ::setpgid(0, 0); // its own process group, so a timeout kills everything it started
        if (null_fd >= 0) ::dup2(null_fd, 0);
        ::dup2(fds[1], 1);
        ::dup2(fds[1], 2);
        int err = exec.exec(root_fd);
        write_all(2, "platform-installer: cannot run ");
        write_all(2, c.argv[0].c_str());
        write_all(2, root_fd >= 0 ? " in the target root: " : ": ");
        write_all(2, std::strerror(err));
        write_all(2, "\n");
        ::_exit(127);
    }
    ::close(fds[1]);
    if (null_fd >= 0) ::close(null_fd);
    ::setpgid(pid, pid);

    CommandResult result;
    auto deadline = Clock::now() + c.timeout;
    Clock::time_point kill_at{};
    bool timed_out = false, kill_pending = false;
    char buf[8192];
    for (;;) {
        auto now = Clock::now();
        if (!timed_out && now >= deadline) {
            timed_out = true;
            ::kill(-pid, SIGTERM);
            kill_at = now + std::chrono::seconds(5);
            kill_pending = true;
        }
        if (kill_pending && now >= kill_at) {
            ::kill(-pid, SIGKILL);
            kill_pending = false;
        }
        pollfd p{fds[0], POLLIN, 0};
        int rc = ::poll(&p, 1, 200);
        if (rc < 0 && errno == EINTR) continue;
        if (rc == 0) continue;
        ssize_t n = ::read(fds[0], buf, sizeof(buf));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break; // every writer closed: the command (and what it started in the background) ended
        result.output.append(buf, static_cast<std::size_t>(n));
        if (result.output.size() > 2 * k_output_cap) result.output.erase(0, result.output.size() - k_output_cap);
    }
    ::close(fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (result.output.size() > k_output_cap) result.output.erase(0, result.output.size() - k_output_cap);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (timed_out)
        return fail(Errc::failed_precondition, "{} did not finish within {} s and was stopped; its last output:\n{}", c.argv[0],
                    c.timeout.count(), result.tail(2000));
    return result;
}

Result<CommandResult> HostSystem::systemctl(std::vector<std::string> args)
{
    args.insert(args.begin(), "systemctl");
    Command c{args, {}, std::chrono::seconds(120), InRoot::no};
    return run(c);
}

Result<void> HostSystem::install_service(const ServiceSpec& spec)
{
    TRY_VOID(check_service_name(spec.name));
    if (spec.exec.empty()) return fail(Errc::invalid_argument, "service {}: no command", spec.name);
    std::string unit = render_unit(spec);
    auto current = read_file(unit_path(spec.name), 1 << 20);
    if (!current || *current != unit) TRY_VOID(write_file(unit_path(spec.name), unit, {0644, {}, {}}));
    // Enabled as `systemctl enable` does it, which also works for a root systemd is not running.
    auto link = stat(wants_path(spec.name));
    if (!link) return fail(link.error());
    if (link->kind != FileKind::symlink) TRY_VOID(symlink(unit_path(spec.name), wants_path(spec.name)));
    if (m_services == ServiceMode::systemd) {
        auto r = systemctl({"daemon-reload"});
        if (!r) return fail(r.error());
        if (r->exit_code != 0) return fail(Errc::failed_precondition, "systemctl daemon-reload: {}", r->output);
    }
    return {};
}

Result<void> HostSystem::start_service(std::string_view name)
{
    TRY_VOID(check_service_name(name));
    auto active = service_active(name);
    if (!active) return fail(active.error());
    if (*active) return {};
    auto log = change_log(name);
    if (!log) return fail(log.error());
    auto recorded = (*log)->record({0, m_phase, ChangeOp::start, std::string(name), false});
    if (!recorded) return fail(recorded.error());
    if (m_services == ServiceMode::plain) return start_plain(name);
    auto r = systemctl({"start", std::string(name) + ".service"});
    if (!r) return fail(r.error());
    if (r->exit_code != 0)
        return fail(Errc::failed_precondition, "start service {}: systemctl exited with {}: {}(see journalctl -u {})", name,
                    r->exit_code, r->output, name);
    return {};
}

Result<void> HostSystem::stop_service(std::string_view name)
{
    TRY_VOID(check_service_name(name));
    if (m_services == ServiceMode::plain) return stop_plain(name);
    auto r = systemctl({"stop", std::string(name) + ".service"});
    if (!r) return fail(r.error());
    if (r->exit_code != 0) return fail(Errc::failed_precondition, "stop service {}: systemctl exited with {}: {}", name, r->exit_code, r->output);
    return {};
}

Result<bool> HostSystem::service_active(std::string_view name)
{
    TRY_VOID(check_service_name(name));
    if (m_services == ServiceMode::plain) return plain_active(name);
    auto r = systemctl({"is-active", "--quiet", std::string(name) + ".service"});
    if (!r) return fail(r.error());
    return r->exit_code == 0;
}

namespace {

std::filesystem::path pid_file(const std::filesystem::path& state, std::string_view name)
{
    return state / "services" / (std::string(name) + ".pid");
}

// "<pid> <start time>" from the pid file; nullopt when there is none.
std::optional<std::pair<pid_t, std::string>> read_pid_file(const std::filesystem::path& path)
{
    auto text = common::io::read_file(path, 4096);
    if (!text) return std::nullopt;
    std::istringstream in(*text);
    long pid = 0;
    std::string start;
    if (!(in >> pid >> start) || pid <= 1) return std::nullopt;
    return std::pair{static_cast<pid_t>(pid), start};
}

bool alive(pid_t pid, const std::string& start)
{
    auto st = proc_stat(pid);
    return st && st->second == start && st->first != 'Z' && st->first != 'X';
}

} // namespace

std::string HostSystem::service_log(std::string_view name) const
{
    if (m_services == ServiceMode::plain) return (m_options.state / "services" / (std::string(name) + ".log")).string();
    return fmt::format("journalctl -u {}", name);
}

Result<bool> HostSystem::plain_active(std::string_view name)
{
    auto pid = read_pid_file(pid_file(m_options.state, name));
    return pid && alive(pid->first, pid->second);
}

Result<void> HostSystem::start_plain(std::string_view name)
{
    auto text = read_file(unit_path(name), 1 << 20);
    if (!text) return fail(text.error().wrap("start service " + std::string(name)));
    auto spec = parse_unit(*text, name);
    if (!spec) return fail(spec.error());
    std::filesystem::path dir = m_options.state / "services";
    TRY_VOID(common::io::make_dirs(dir));
    std::string log_path = (dir / (std::string(name) + ".log")).string();
    int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (log_fd < 0) return common::fail_errno("open " + log_path, errno);
    common::io::File log(log_fd, log_path);
    Exec exec(spec->exec, spec->env, m_options.path_env);
    int root_fd = m_root.is_host() ? -1 : m_root.fd();
    int pid_pipe[2], err_pipe[2];
    if (::pipe2(pid_pipe, O_CLOEXEC) != 0) return common::fail_errno("pipe", errno);
    if (::pipe2(err_pipe, O_CLOEXEC) != 0) return common::fail_errno("pipe", errno);
    int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    // Twice forked: the service is nobody's child here (init reaps it) and leads its own session.
    pid_t first = ::fork();
    if (first < 0) return common::fail_errno("fork", errno);
    if (first == 0) {
        pid_t second = ::fork();
        if (second != 0) {
            ssize_t n = ::write(pid_pipe[1], &second, sizeof(second));
            ::_exit(n == sizeof(second) ? 0 : 1);
        }
        ::setsid();
        if (null_fd >= 0) ::dup2(null_fd, 0);
        ::dup2(log_fd, 1);
        ::dup2(log_fd, 2);
        int err = exec.exec(root_fd);
        ssize_t n = ::write(err_pipe[1], &err, sizeof(err));
        (void)n;
        ::_exit(127);
    }
    ::close(pid_pipe[1]), ::close(err_pipe[1]);
    if (null_fd >= 0) ::close(null_fd);
    int status = 0;
    while (::waitpid(first, &status, 0) < 0 && errno == EINTR) {
    }
    pid_t pid = 0;
    ssize_t got = ::read(pid_pipe[0], &pid, sizeof(pid));
    int err = 0;
    ssize_t failed = ::read(err_pipe[0], &err, sizeof(err)); // 0: exec closed it (CLOEXEC), so it ran
    ::close(pid_pipe[0]), ::close(err_pipe[0]);
    if (got != sizeof(pid)) return fail(Errc::io, "start service {}: the starter process failed", name);
    if (failed == sizeof(err))
        return fail(Errc::failed_precondition, "start service {}: cannot run {}: {}", name, spec->exec[0], std::strerror(err));
    auto st = proc_stat(pid);
    if (!st) return fail(Errc::failed_precondition, "start service {}: it exited at once; its log: {}", name, log_path);
    return common::io::write_file_atomic(pid_file(m_options.state, name), fmt::format("{} {}\n", pid, st->second));
}

Result<void> HostSystem::stop_plain(std::string_view name)
{
    std::filesystem::path file = pid_file(m_options.state, name);
    auto pid = read_pid_file(file);
    if (pid && alive(pid->first, pid->second)) {
        ::kill(-pid->first, SIGTERM);
        auto deadline = Clock::now() + std::chrono::seconds(10);
        while (alive(pid->first, pid->second) && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (alive(pid->first, pid->second)) {
            ::kill(-pid->first, SIGKILL);
            for (int i = 0; i < 100 && alive(pid->first, pid->second); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        if (alive(pid->first, pid->second)) return fail(Errc::failed_precondition, "stop service {}: pid {} does not exit", name, pid->first);
    }
    std::error_code ec;
    std::filesystem::remove(file, ec);
    return {};
}

} // namespace installer::system
