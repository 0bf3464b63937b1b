// SPDX-License-Identifier: Apache-2.0
// bundler: pins, builds, verifies and inspects platform-installer bundles. Runs where the internet is.
#include <bundler/build/builder.hpp>
#include <bundler/build/plan.hpp>
#include <bundler/apt/closure.hpp>
#include <bundler/build/locker.hpp>
#include <bundler/build/oci_export.hpp>
#include <bundler/registry/auth.hpp>
#include <common/bundle/bundle_file.hpp>
#include <common/bundle/bundle_summary.hpp>
#include <common/bundle/signature.hpp>
#include <common/util/progress.hpp>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <iostream>
#include <unistd.h>

namespace fs = std::filesystem;
using common::Result;

namespace {

fs::path default_cache()
{
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return fs::path(xdg) / "platform-bundler";
    if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".cache" / "platform-bundler";
    return "dist/cache";
}

// The installer beside the bundler: platform-installer-<arch> when one was cross-built for that
// architecture (scripts/setup puts the arm64 one there), else platform-installer (this machine's).
fs::path default_installer(const std::string& arch = {})
{
    std::error_code ec;
    fs::path self = fs::read_symlink("/proc/self/exe", ec);
    fs::path for_arch = self.parent_path() / ("platform-installer-" + arch);
    if (!arch.empty() && fs::exists(for_arch, ec)) return for_arch;
    return self.parent_path() / "platform-installer";
}

Result<std::int64_t> source_date_epoch()
{
    const char* s = std::getenv("SOURCE_DATE_EPOCH");
    if (!s || !*s) return 0;
    char* end = nullptr;
    long long v = std::strtoll(s, &end, 10);
    if (*end != '\0' || v < 0)
        return common::fail(common::Errc::invalid_argument, "SOURCE_DATE_EPOCH '{}' is not a count of seconds", s);
    return v;
}

Result<std::vector<bundler::fetch::Mirror>> parse_mirrors(const std::vector<std::string>& specs)
{
    std::vector<bundler::fetch::Mirror> out;
    for (const std::string& s : specs) {
        auto m = bundler::fetch::Mirror::parse(s);
        if (!m) return common::fail(m.error());
        out.push_back(*m);
    }
    return out;
}

// Registry options from the command line: credentials from the Docker config, then --registry-auth
// (which wins for the same host), registry mirrors and the parallel transfer count.
Result<bundler::registry::RegistryOptions> registry_options(const std::vector<std::string>& auth_specs,
                                                             const std::vector<bundler::fetch::Mirror>& mirrors, unsigned jobs)
{
    bundler::registry::RegistryOptions o;
    o.mirrors = mirrors;
    o.jobs = jobs;
    if (auto loaded = bundler::registry::load_docker_config(o.credentials); !loaded) return common::fail(loaded.error());
    for (const std::string& spec : auth_specs)
        if (auto added = bundler::registry::add_registry_auth(spec, o.credentials); !added) return common::fail(added.error());
    return o;
}

int report(const common::Error& e)
{
    fmt::print(stderr, "bundler: error: {}\n", e.message);
    return e.code == common::Errc::invalid_argument ? 2 : 1;
}

nlohmann::json trailer_json(const common::bundle::Trailer& t)
{
    return {{"format_version", t.format_version},
            {"installer_size", t.installer_size},
            {"installer_sha256", t.installer_sha256.str()},
            {"payload_offset", t.payload_offset},
            {"payload_size", t.payload_size},
            {"payload_sha256", t.payload_sha256.str()},
            {"bundle_json_size", t.bundle_json_size},
            {"bundle_json_sha256", t.bundle_json_sha256.str()},
            {"signed", (t.flags & 1) != 0},
            {"signer", (t.flags & 1) ? common::digest::Digest{t.signer_fingerprint}.str() : std::string()}};
}

int run_verify(const fs::path& file, bool as_json, const std::string& signer)
{
    auto fail_with = [&](const common::Error& e) {
        if (as_json) fmt::print("{}\n", nlohmann::json{{"file", file.string()}, {"ok", false}, {"error", e.message}}.dump(2));
        else fmt::print(stderr, "bundler: verify FAILED: {}\n", e.message);
        return 1;
    };
    auto bf = common::bundle::BundleFile::open(file);
    if (!bf) return fail_with(bf.error());
    if (!signer.empty()) {
        auto trusted = common::bundle::parse_signer(signer);
        if (!trusted) return fail_with(trusted.error());
        if (auto ok = bf->require_signer(*trusted); !ok) return fail_with(ok.error());
    }
    std::optional<common::ProgressMeter> meter;
    if (!as_json) meter.emplace("verify " + file.filename().string(), bf->trailer().payload_size);
    auto index = bf->verify_all([&](std::uint64_t done, std::uint64_t) {
        if (meter) meter->update(done);
    });
    if (meter) meter->finish();
    if (!index) return fail_with(index.error());
    if (as_json) {
        fmt::print("{}\n", nlohmann::json{{"file", file.string()},
                                          {"ok", true},
                                          {"profile", index->profile},
                                          {"version", index->version},
                                          {"blobs", index->blobs.size()},
                                          {"trailer", trailer_json(bf->trailer())}}
                               .dump(2));
    } else {
        fmt::print("ok: {}: profile {} {}, {} blobs ({}), installer, payload and trailer digests match{}\n", file.string(),
                   index->profile, index->version, index->blobs.size(), common::human_bytes(index->total_blob_bytes()),
                   bf->signer() ? fmt::format("; signed by {}", bf->signer()->str()) : std::string());
    }
    return 0;
}

int run_inspect(const fs::path& file, bool as_json)
{
    auto bf = common::bundle::BundleFile::open(file);
    if (!bf) return report(bf.error());
    auto index = bf->read_index();
    if (!index) return report(index.error());
    if (as_json) {
        nlohmann::json j = nlohmann::json::parse(index->to_json());
        j["trailer"] = trailer_json(bf->trailer());
        fmt::print("{}\n", j.dump(2));
        return 0;
    }
    fmt::print("{}", common::bundle::describe(*bf, *index));
    fmt::print("{}", common::bundle::list_artifacts(*index));
    return 0;
}

int run_resolve(const fs::path& workdir, const std::string& target_name, const std::vector<std::string>& packages,
                bool recommends, bool print_base, const fs::path& cache_dir, const std::vector<bundler::fetch::Mirror>& mirrors,
                bundler::fetch::Fetcher& fetcher)
{
    auto target = common::manifest::load_target(workdir / "manifests", target_name);
    if (!target) return report(target.error());
    auto cache = common::store::BlobStore::open(cache_dir);
    if (!cache) return report(cache.error());
    bundler::apt::RepositoryReader reader(fetcher, *cache, mirrors);
    auto closure = bundler::apt::resolve_target(*target, packages,
                                                recommends ? bundler::apt::Recommends::install : bundler::apt::Recommends::skip, reader);
    if (!closure) return report(closure.error());
    for (const bundler::apt::Package* p : print_base ? closure->base : closure->packages)
        fmt::print("{} {} {}\n", p->name, p->version, p->arch);
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    CLI::App app{"bundler: pin platform artifacts and build self-verifying offline installers\n"
                 "  bundler plan --profile NAME      print offline what a build would fetch and install, and what is unpinned\n"
                 "  bundler lock --profile NAME      pin the profile's binaries/files and .deb closures (*.lock)\n"
                 "  bundler resolve --target T PKG.. print the .deb closure lock would pin for a target\n"
                 "  bundler build --profile NAME     build dist/platform-installer-NAME.run and its .sha256\n"
                 "  bundler verify FILE              check every digest (and the signature) of a .run file\n"
                 "  bundler inspect FILE             show what a .run file holds\n"
                 "  bundler export --oci DIR FILE    write the images of a .run file as an OCI image layout"};
    app.require_subcommand(1);

    std::string profile;
    fs::path workdir = ".";
    fs::path cache = default_cache();
    std::vector<std::string> mirror_specs, registry_auth;
    unsigned jobs = 4;
    auto add_common = [&](CLI::App* sub) {
        sub->add_option("--profile", profile, "profile name (manifests/profiles/NAME.yaml)")->required();
        sub->add_option("--workdir", workdir, "folder holding manifests/ and the *.lock files")->capture_default_str();
        sub->add_option("--cache", cache, "download cache (content-addressed)")->capture_default_str();
        sub->add_option("--mirror", mirror_specs,
                        "FROM=TO: fetch URLs of host/prefix FROM, or images of registry FROM (docker.io), from TO instead (repeatable)")
            ->allow_extra_args(false);
        sub->add_option("--registry-auth", registry_auth,
                        "HOST=USER:PASSWORD_FILE: credentials for registry HOST, the password read from the file "
                        "(repeatable; besides $DOCKER_CONFIG/config.json or ~/.docker/config.json 'auths')")
            ->allow_extra_args(false)
            ->type_name("HOST=USER:FILE");
        sub->add_option("--jobs,-j", jobs, "parallel registry transfers")->capture_default_str()->check(CLI::Range(1, 64));
    };

    CLI::App* build = app.add_subcommand("build", "build platform-installer-PROFILE.run from the pins");
    add_common(build);
    fs::path output, installer = default_installer();
    int level = 3;
    unsigned threads = 0;
    build->add_option("--output,-o", output, "output file (default dist/platform-installer-PROFILE.run)");
    build->add_option("--installer", installer,
                      "the static installer executable to embed (default: platform-installer-ARCH beside the bundler for --arch ARCH, "
                      "else platform-installer; its architecture must be the bundle's)")
        ->capture_default_str();
    build->add_option("--level", level, "zstd level")->capture_default_str()->check(CLI::Range(1, 19));
    build->add_option("--threads", threads, "zstd threads (0 = one per core; output is the same either way)");
    bool fetch_only = false;
    build->add_flag("--fetch-only", fetch_only,
                    "only fetch every pinned artifact into --cache, verified, and stop (a later build from that cache "
                    "needs no network)");
    fs::path sign_key;
    build->add_option("--sign-key", sign_key, "sign with this Ed25519 private key (PEM; openssl genpkey -algorithm ed25519)")
        ->type_name("FILE");

    std::string arch;
    build->add_option("--arch", arch, "the architecture to build for (amd64, arm64): needed when the profile has platforms for several; "
                                      "one .run per architecture");

    CLI::App* plan = app.add_subcommand("plan", "print offline what a build of the profile would fetch and each role install, "
                                                "with sizes the locks know and every pin still missing");
    plan->add_option("--profile", profile, "profile name (manifests/profiles/NAME.yaml)")->required();
    plan->add_option("--workdir", workdir, "folder holding manifests/ and the *.lock files")->capture_default_str();
    plan->add_option("--arch", arch, "only this architecture (default: each of the profile's)");

    CLI::App* lock = app.add_subcommand("lock", "pin the profile's binaries, files, .deb closures and images (*.lock)");
    add_common(lock);
    bool check_only = false, update = false, lock_recommends = false;
    lock->add_flag("--check", check_only, "only report whether binaries.lock, debs.lock and images.lock agree with the manifests (offline)");
    lock->add_flag("--update", update, "re-fetch and re-pin entries that are already pinned (re-resolve .deb closures and image tags)");
    lock->add_flag("--recommends", lock_recommends, ".deb closures follow Recommends too");

    CLI::App* resolve = app.add_subcommand("resolve", "print the .deb closure of packages for a target (what lock would pin)");
    std::string target;
    std::vector<std::string> packages;
    bool with_recommends = false, print_base = false;
    resolve->add_option("--target", target, "target name (manifests/targets/NAME.yaml)")->required();
    resolve->add_option("--workdir", workdir, "folder holding manifests/")->capture_default_str();
    resolve->add_option("--cache", cache, "download cache (content-addressed)")->capture_default_str();
    resolve->add_option("--mirror", mirror_specs, "FROM=TO: fetch URLs of host/prefix FROM from TO instead (repeatable)")->allow_extra_args(false);
    resolve->add_flag("--recommends", with_recommends, "follow Recommends too (apt's default; off for bundles)");
    resolve->add_flag("--base", print_base, "print the target's base set instead");
    resolve->add_option("PACKAGE", packages, "packages to resolve");

    fs::path file;
    bool as_json = false;
    CLI::App* verify = app.add_subcommand("verify", "check every digest of a .run file");
    verify->add_option("FILE", file, "the .run file")->required();
    verify->add_flag("--json", as_json, "print the result as JSON");
    std::string signer;
    verify->add_option("--signer", signer, "require a signature by this key: sha256:<fingerprint> or a PEM key file")
        ->type_name("KEY");
    CLI::App* inspect = app.add_subcommand("inspect", "show what a .run file holds");
    inspect->add_option("FILE", file, "the .run file")->required();
    inspect->add_flag("--json", as_json, "print bundle.json and the trailer as JSON");
    CLI::App* export_cmd = app.add_subcommand("export", "write the images a .run file holds as an OCI image layout (offline; "
                                                        "every byte checked): skopeo copy oci:DIR:NAME:TAG reads it");
    fs::path oci_dir;
    export_cmd->add_option("--oci", oci_dir, "the layout folder to write (absent or empty)")->required();
    export_cmd->add_option("FILE", file, "the .run file")->required();

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }

    try {
        if (verify->parsed()) return run_verify(file, as_json, signer);
        if (inspect->parsed()) return run_inspect(file, as_json);
        if (plan->parsed()) {
            auto text = bundler::build::plan_text({profile, workdir, arch});
            if (!text) return report(text.error());
            fmt::print("{}", *text);
            return 0;
        }
        if (export_cmd->parsed()) {
            auto r = bundler::build::export_oci(file, oci_dir);
            if (!r) return report(r.error());
            fmt::print("exported {} images ({} blobs, {}) to {}\n", r->images, r->blobs, common::human_bytes(r->bytes), oci_dir.string());
            return 0;
        }
        auto mirrors = parse_mirrors(mirror_specs);
        if (!mirrors) return report(mirrors.error());
        bundler::fetch::CurlFetcher fetcher;
        if (resolve->parsed()) return run_resolve(workdir, target, packages, with_recommends, print_base, cache, *mirrors, fetcher);
        auto registry = registry_options(registry_auth, *mirrors, jobs);
        if (!registry) return report(registry.error());
        if (lock->parsed()) {
            auto r = bundler::build::lock({profile, workdir, cache, *mirrors, check_only, update, lock_recommends, *registry}, fetcher);
            if (!r) return report(r.error());
            if (check_only)
                fmt::print("the locks agree with profile {} ({} binaries, {} .deb targets, {} images)\n", profile, r->unchanged,
                           r->targets_unchanged, r->images_unchanged);
            else {
                fmt::print("binaries.lock: {} pinned, {} already pinned\n", r->pinned, r->unchanged);
                if (r->targets_resolved + r->targets_unchanged > 0)
                    fmt::print("debs.lock: {} targets resolved ({} packages), {} unchanged\n", r->targets_resolved,
                               r->debs_pinned, r->targets_unchanged);
                if (r->images_pinned + r->images_unchanged > 0)
                    fmt::print("images.lock: {} images pinned, {} already pinned\n", r->images_pinned, r->images_unchanged);
            }
            return 0;
        }
        auto epoch = source_date_epoch();
        if (!epoch) return report(epoch.error());
        bundler::build::BuildOptions o{profile, workdir, output, cache, installer, *mirrors, *epoch, level, threads, sign_key, *registry};
        o.fetch_only = fetch_only;
        o.arch = arch;
        if (build->count("--installer") == 0 && !arch.empty()) o.installer = default_installer(arch);
        auto r = bundler::build::build(o, fetcher);
        if (!r) return report(r.error());
        if (fetch_only) {
            fmt::print("fetched profile {} into {} ({} blobs, {}); bundler build with this --cache needs no network\n", profile,
                       cache.string(), r->blobs, common::human_bytes(r->blob_bytes));
            return 0;
        }
        fmt::print("built {} ({}, {} blobs)\nsha256 {}\n", r->output.string(), common::human_bytes(r->file_size), r->blobs,
                   r->file_sha256.hex());
        return 0;
    } catch (const std::exception& e) {
        fmt::print(stderr, "bundler: internal error: {}\n", e.what());
        return 1;
    }
}
