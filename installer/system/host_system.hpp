// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>
#include <functional>

#include <installer/system/change_log.hpp>
#include <installer/system/root_dir.hpp>
#include <installer/system/system.hpp>

namespace installer::system {

// systemd where it runs the host (root "/" and /run/systemd/system present), else plain processes.
enum class ServiceMode { automatic, systemd, plain };

struct HostOptions {
    std::filesystem::path state; // host path of the state folder: plain services keep <state>/services/<name>.pid
    ServiceMode services = ServiceMode::automatic;
    std::string path_env = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"; // PATH of commands
};

// Acts on the node under the target root. Every change is journaled in `changes` before it happens;
// without a change log (dry runs) any change is refused with failed_precondition.
class HostSystem : public System {
public:
    HostSystem(const RootDir& root, ChangeLog* changes, HostOptions options);
    // Changes are refused until a change log is attached (after the node lock is taken).
    void attach(ChangeLog* changes) { m_changes = changes; }

    void begin_phase(std::string_view phase) override { m_phase = phase; }
    Result<FileInfo> stat(std::string_view path) override;
    Result<std::string> read_file(std::string_view path, std::uint64_t max_bytes) override;
    Result<common::digest::FileDigest> hash_file(std::string_view path) override;
    Result<std::string> lock_holder(std::string_view path) override;
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
    Result<void> journal_packages(const std::vector<std::string>& names) override;
    Result<void> journal_uninstall(std::string_view script) override;
    Result<void> install_service(const ServiceSpec& spec) override;
    Result<void> start_service(std::string_view name) override;
    Result<void> stop_service(std::string_view name) override;
    Result<bool> service_active(std::string_view name) override;
    std::string service_log(std::string_view name) const override;
    Result<UndoReport> undo_all() override;

    ServiceMode service_mode() const { return m_services; }

private:
    // Fills the temp file that will replace the entry (write content, copy a blob, ...).
    using Fill = std::function<Result<void>(common::io::File& temp)>;
    // Makes the entry's new version under a temp name in its folder (a file, a link).
    using Make = std::function<Result<void>(const Folder& dir, const std::string& temp_name)>;

    Result<ChangeLog*> change_log(std::string_view what);
    // The folder of path, creating (and journaling) missing ones.
    Result<Parent> parent_for_change(std::string_view path);
    // Journals what changing the entry does: create when nothing is there, else `op` (replace, remove)
    // with a backup of what is there.
    Result<void> journal_replacement(const Parent& parent, ChangeOp op);
    // Replaces the entry atomically with what `make` put under a temp name: journal, rename, fsync folder.
    Result<void> replace_entry(std::string_view path, const Make& make);
    Result<void> replace_file(std::string_view path, const FileOptions& options, const Fill& fill);
    Result<void> undo(const Change& change, UndoReport& report);
    Result<void> restore_backup(const Change& change);
    Result<void> purge_packages(const Change& change, UndoReport& report);
    Result<void> run_uninstall(const Change& change, UndoReport& report);
    // Removes a tree the installer owns (undo of seed_tree), never following a link inside it.
    Result<void> remove_tree(const std::string& path);
    // Plain services.
    Result<void> start_plain(std::string_view name);
    Result<void> stop_plain(std::string_view name);
    Result<bool> plain_active(std::string_view name);
    Result<CommandResult> systemctl(std::vector<std::string> args);

    const RootDir& m_root;
    ChangeLog* m_changes;
    HostOptions m_options;
    ServiceMode m_services;
    std::string m_phase = "unknown";
};

} // namespace installer::system
