// SPDX-License-Identifier: Apache-2.0
#include <installer/system/recording_system.hpp>

#include <installer/system/service_unit.hpp>

namespace installer::system {

void RecordingSystem::begin_phase(std::string_view phase)
{
    m_actions.push_back(fmt::format("begin_phase {}", phase));
    m_files.begin_phase(phase);
}

Result<void> RecordingSystem::write_file(std::string_view path, std::string_view content, const FileOptions& o)
{
    m_actions.push_back(fmt::format("write_file {} {:04o}", path, o.mode));
    return m_files.write_file(path, content, o);
}

Result<void> RecordingSystem::install_blob(std::string_view path, const common::store::BlobStore& store,
                                           const common::store::BlobRef& blob, const FileOptions& o)
{
    m_actions.push_back(fmt::format("install_blob {} {} {:04o}", path, blob.digest.str(), o.mode));
    return m_files.install_blob(path, store, blob, o);
}

Result<void> RecordingSystem::make_dir(std::string_view path, unsigned mode)
{
    m_actions.push_back(fmt::format("make_dir {} {:04o}", path, mode));
    return m_files.make_dir(path, mode);
}

Result<void> RecordingSystem::symlink(std::string_view target, std::string_view path)
{
    m_actions.push_back(fmt::format("symlink {} -> {}", path, target));
    return m_files.symlink(target, path);
}

Result<void> RecordingSystem::hard_link(std::string_view existing, std::string_view path)
{
    m_actions.push_back(fmt::format("hard_link {} = {}", path, existing));
    return m_files.hard_link(existing, path);
}

Result<void> RecordingSystem::write_from(std::string_view path, common::io::Source& data, const FileOptions& o)
{
    m_actions.push_back(fmt::format("write_from {} {:04o}", path, o.mode));
    return m_files.write_from(path, data, o);
}

Result<std::size_t> RecordingSystem::seed_tree(std::string_view dir, const std::vector<TreeEntry>& entries)
{
    m_actions.push_back(fmt::format("seed_tree {} ({} entries)", dir, entries.size()));
    return m_files.seed_tree(dir, entries);
}

Result<void> RecordingSystem::remove(std::string_view path)
{
    m_actions.push_back(fmt::format("remove {}", path));
    return m_files.remove(path);
}

Result<void> RecordingSystem::journal_packages(const std::vector<std::string>& names)
{
    m_actions.push_back(fmt::format("journal_packages {}", fmt::join(names, " ")));
    return m_files.journal_packages(names);
}

Result<void> RecordingSystem::journal_uninstall(std::string_view script)
{
    m_actions.push_back(fmt::format("journal_uninstall {}", script));
    return m_files.journal_uninstall(script);
}

Result<CommandResult> RecordingSystem::run(const Command& c)
{
    if (c.argv.empty()) return common::fail(common::Errc::invalid_argument, "run: no command");
    m_actions.push_back(fmt::format("run{} {}", c.in_root == InRoot::yes ? " [root]" : "", fmt::join(c.argv, " ")));
    m_commands.push_back(c);
    auto it = m_answers.find(c.argv[0]);
    return it == m_answers.end() ? CommandResult{} : it->second(c);
}

Result<void> RecordingSystem::install_service(const ServiceSpec& spec)
{
    TRY_VOID(check_service_name(spec.name));
    m_actions.push_back(fmt::format("install_service {} {}", spec.name, fmt::join(spec.exec, " ")));
    TRY_VOID(m_files.write_file(unit_path(spec.name), render_unit(spec), {0644, {}, {}}));
    return m_files.symlink(unit_path(spec.name), wants_path(spec.name));
}

Result<void> RecordingSystem::start_service(std::string_view name)
{
    m_actions.push_back(fmt::format("start_service {}", name));
    m_active.insert(std::string(name));
    return {};
}

Result<void> RecordingSystem::stop_service(std::string_view name)
{
    m_actions.push_back(fmt::format("stop_service {}", name));
    m_active.erase(std::string(name));
    return {};
}

Result<UndoReport> RecordingSystem::undo_all()
{
    m_actions.push_back("undo_all");
    m_active.clear();
    return m_files.undo_all();
}

} // namespace installer::system
