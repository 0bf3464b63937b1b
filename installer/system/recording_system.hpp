// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <functional>
#include <map>
#include <set>

#include <installer/system/system.hpp>

namespace installer::system {

// Stands in for the host in tests of what cannot run here (k3s, systemd): records every change, command
// and service action in order; reads and file changes go to `files` (a HostSystem over a scratch root,
// so phases see real files and undo works), while commands and services are recorded, never run.
class RecordingSystem : public System {
public:
    using Answer = std::function<CommandResult(const Command&)>;

    explicit RecordingSystem(System& files) : m_files(files) {}

    // One line per action: "write_file /etc/x 0644", "run [root] k3s server", "start_service k3s", ...
    const std::vector<std::string>& actions() const { return m_actions; }
    // How commands whose argv[0] is `program` answer (by default: exit 0, no output).
    void answer(const std::string& program, Answer answer) { m_answers[program] = std::move(answer); }
    const std::vector<Command>& commands() const { return m_commands; }

    void begin_phase(std::string_view phase) override;
    Result<void> journal_packages(const std::vector<std::string>& names) override;
    Result<void> journal_uninstall(std::string_view script) override;
    Result<FileInfo> stat(std::string_view path) override { return m_files.stat(path); }
    Result<std::string> read_file(std::string_view path, std::uint64_t max) override { return m_files.read_file(path, max); }
    Result<common::digest::FileDigest> hash_file(std::string_view path) override { return m_files.hash_file(path); }
    Result<std::string> lock_holder(std::string_view path) override { return m_files.lock_holder(path); }
    Result<void> write_file(std::string_view path, std::string_view content, const FileOptions& options) override;
    Result<void> install_blob(std::string_view path, const common::store::BlobStore& store, const common::store::BlobRef& blob,
                              const FileOptions& options) override;
    Result<void> make_dir(std::string_view path, unsigned mode) override;
    Result<void> symlink(std::string_view target, std::string_view path) override;
    Result<void> hard_link(std::string_view existing, std::string_view path) override;
    Result<void> write_from(std::string_view path, common::io::Source& data, const FileOptions& options) override;
    Result<void> remove(std::string_view path) override;
    Result<std::size_t> seed_tree(std::string_view dir, const std::vector<TreeEntry>& entries) override;
    Result<CommandResult> run(const Command& command) override;
    Result<void> install_service(const ServiceSpec& spec) override;
    Result<void> start_service(std::string_view name) override;
    Result<void> stop_service(std::string_view name) override;
    Result<bool> service_active(std::string_view name) override { return m_active.contains(std::string(name)); }
    std::string service_log(std::string_view name) const override { return fmt::format("(recorded service {})", name); }
    Result<UndoReport> undo_all() override;

private:
    System& m_files;
    std::vector<std::string> m_actions;
    std::vector<Command> m_commands;
    std::map<std::string, Answer> m_answers;
    std::set<std::string> m_active;
};

} // namespace installer::system
