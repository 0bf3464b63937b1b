// SPDX-License-Identifier: Apache-2.0
// The node side of images: the registry's storage tree and mirror configuration, the tree seeding through
// the system seam (hard links, undo), image archives as tar streams, and the HTTP probe.
#include <doctest/doctest.h>

#include "scratch.hpp"
#include "tree.hpp"

#include <common/io/string_stream.hpp>
#include <common/io/tar_stream.hpp>
#include <installer/phases/image_archive.hpp>
#include <installer/phases/registry_layout.hpp>
#include <installer/system/change_log.hpp>
#include <installer/system/host_system.hpp>
#include <installer/system/http_probe.hpp>

#include <archive.h>
#include <archive_entry.h>
#include <yaml-cpp/yaml.h>

#include <arpa/inet.h>
#include <fstream>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

using namespace installer::phases;
using common::oci::Descriptor;
using common::oci::LockedImage;
namespace fs = std::filesystem;

TEST_SUITE_BEGIN("images");

namespace {

Descriptor desc(std::string_view content, std::string_view media)
{
    return {std::string(media), common::digest::sha256_of(content), content.size(), std::nullopt};
}

// Two images sharing a base layer, as the e2e fixtures build them.
std::vector<LockedImage> two_images()
{
    Descriptor base = desc("base layer", common::oci::media::oci_layer_gzip);
    LockedImage a{"busybox:1", "docker.io/library/busybox", "1", desc("index a", common::oci::media::oci_index),
                  {{{"linux", "amd64", ""}, desc("manifest a", common::oci::media::oci_manifest), desc("config a", common::oci::media::oci_config),
                    {base, desc("layer a", common::oci::media::oci_layer_gzip)}}}};
    LockedImage b{"ghcr.io/x/tool:2", "ghcr.io/x/tool", "2", desc("manifest b", common::oci::media::oci_manifest),
                  {{{"linux", "amd64", ""}, desc("manifest b", common::oci::media::oci_manifest), desc("config b", common::oci::media::oci_config),
                    {base}}}};
    return {a, b};
}

std::map<std::string, std::string> by_path(const std::vector<installer::system::TreeEntry>& entries)
{
    std::map<std::string, std::string> out;
    for (const auto& e : entries) out[e.path] = e.link_from.empty() ? "content " + e.content : "link " + e.link_from;
    return out;
}

} // namespace

TEST_CASE("registry_tree lays out the Distribution storage tree - each blob once")
{
    auto images = two_images();
    auto entries = registry_tree(images, "/var/lib/platform-installer/store");
    REQUIRE(entries);
    auto m = by_path(*entries);
    std::string base = common::digest::sha256_of("base layer").hex();
    std::string v2 = "docker/registry/v2/";
    CHECK(m.at(v2 + "blobs/sha256/" + base.substr(0, 2) + "/" + base + "/data") == "link /var/lib/platform-installer/store/blobs/sha256/" + base);
    std::string top = images[0].top.digest.hex();
    CHECK(m.at(v2 + "repositories/library/busybox/_manifests/tags/1/current/link") == "content sha256:" + top);
    CHECK(m.at(v2 + "repositories/library/busybox/_manifests/tags/1/index/sha256/" + top + "/link") == "content sha256:" + top);
    CHECK(m.at(v2 + "repositories/library/busybox/_manifests/revisions/sha256/" + images[0].platforms[0].manifest.digest.hex() + "/link") ==
          "content " + images[0].platforms[0].manifest.digest.str());
    CHECK(m.count(v2 + "repositories/library/busybox/_layers/sha256/" + base + "/link") == 1);
    CHECK(m.count(v2 + "repositories/x/tool/_layers/sha256/" + base + "/link") == 1);
    CHECK(m.count(v2 + "repositories/x/tool/_layers/sha256/" + images[1].platforms[0].config.digest.hex() + "/link") == 1);
    // 7 distinct blobs (index a, manifest a, config a, base, layer a, manifest b, config b), each one data file.
    std::size_t data = std::count_if(m.begin(), m.end(), [](const auto& kv) { return kv.first.ends_with("/data"); });
    CHECK(data == 7);
    CHECK(std::is_sorted(entries->begin(), entries->end(), [](const auto& x, const auto& y) { return x.path < y.path; }));
}

TEST_CASE("registry_tree refuses two images claiming one tag with different digests")
{
    auto images = two_images();
    images[1].name = "quay.io/library/busybox"; // same repository path, same tag "1" once renamed
    images[1].tag = "1";
    auto r = registry_tree(images, "/s");
    REQUIRE(!r);
    CHECK(r.error().message.find("library/busybox:1") != std::string::npos);
    images[1].top = images[0].top; // the same digest is fine
    CHECK(registry_tree(images, "/s"));
}

TEST_CASE("mirror configuration: this node's registry first - then the peers - for every source registry")
{
    auto endpoints = mirror_endpoints(":5000", {"http://10.0.0.1:5000", "http://10.0.0.2:5000"});
    REQUIRE(endpoints);
    CHECK(*endpoints == std::vector<std::string>{"http://127.0.0.1:5000", "http://10.0.0.1:5000", "http://10.0.0.2:5000"});
    CHECK(mirror_endpoints("10.0.0.3:5001", {}).value() == std::vector<std::string>{"http://10.0.0.3:5001"});
    CHECK(!mirror_endpoints("5000", {}));
    CHECK(!mirror_endpoints(":5000", {"10.0.0.1:5000"}));
    auto hosts = image_hosts(two_images());
    CHECK(hosts == std::vector<std::string>{"docker.io", "ghcr.io"});

    YAML::Node y = YAML::Load(k3s_registries(hosts, *endpoints));
    for (const char* h : {"*", "docker.io", "ghcr.io"}) {
        CAPTURE(h);
        REQUIRE(y["mirrors"][h]["endpoint"].size() == 3);
        CHECK(y["mirrors"][h]["endpoint"][0].as<std::string>() == "http://127.0.0.1:5000");
        CHECK(y["mirrors"][h]["endpoint"][2].as<std::string>() == "http://10.0.0.2:5000");
    }
    std::string toml = containerd_hosts("docker.io", *endpoints);
    CHECK(toml.find("server = \"https://registry-1.docker.io\"") != std::string::npos);
    CHECK(toml.find("[host.\"http://127.0.0.1:5000\"]") < toml.find("[host.\"http://10.0.0.1:5000\"]"));
    CHECK(containerd_hosts("_default", *endpoints).find("server") == std::string::npos);
    CHECK(registry_config(":5000").find("readonly:\n      enabled: true") != std::string::npos);
}

TEST_CASE("seed_tree hard-links from the store - changes nothing the second time - and undo removes the tree")
{
    Scratch s;
    fs::create_directories(s / "root/var/lib/platform-installer/store/blobs/sha256");
    auto blob = s.write("root/var/lib/platform-installer/store/blobs/sha256/abc", "layer bytes");
    std::string before = tree_snapshot(s / "root");
    auto root = installer::system::RootDir::open(s / "root").value();
    auto changes = installer::system::ChangeLog::open(s / "state").value();
    installer::system::HostSystem sys(root, &changes, {s / "state"});
    sys.begin_phase("registry");
    std::vector<installer::system::TreeEntry> entries{
        {"docker/registry/v2/blobs/sha256/ab/abc/data", "/var/lib/platform-installer/store/blobs/sha256/abc", ""},
        {"docker/registry/v2/repositories/a/_layers/sha256/abc/link", "", "sha256:abc"},
    };
    CHECK(sys.seed_tree("/var/lib/platform-installer/registry", entries).value() == 2);
    fs::path data = s / "root/var/lib/platform-installer/registry/docker/registry/v2/blobs/sha256/ab/abc/data";
    CHECK(fs::equivalent(data, blob));
    CHECK(sys.stat("/var/lib/platform-installer/registry/docker/registry/v2/blobs/sha256/ab/abc/data").value().ino ==
          sys.stat("/var/lib/platform-installer/store/blobs/sha256/abc").value().ino);
    CHECK(sys.seed_tree("/var/lib/platform-installer/registry", entries).value() == 0);
    // One change-log entry for the whole tree.
    CHECK(changes.pending().size() == 1);
    // A link planted inside the tree is refused, not followed.
    fs::remove_all(s / "root/var/lib/platform-installer/registry/docker/registry/v2/repositories");
    fs::create_directory_symlink("/tmp", s / "root/var/lib/platform-installer/registry/docker/registry/v2/repositories");
    CHECK(!sys.seed_tree("/var/lib/platform-installer/registry", entries));
    CHECK(!sys.seed_tree("/var/lib/platform-installer/registry", {{"../escape", "", "x"}}));
    REQUIRE(sys.undo_all());
    CHECK(tree_snapshot(s / "root") == before);
    CHECK(fs::exists("/tmp")); // the planted link was removed, not what it pointed to
}

TEST_CASE("TarStream writes a ustar archive libarchive reads back - and its size is known ahead")
{
    Scratch s;
    std::string big(70000, 'x');
    std::vector<common::io::TarEntry> entries;
    auto text = [](std::string name, std::string body) {
        std::uint64_t n = body.size();
        return common::io::TarEntry{std::move(name), n, [body = std::move(body)]() -> common::Result<std::unique_ptr<common::io::Source>> {
                                        struct Owned : common::io::Source {
                                            std::string b;
                                            common::io::StringSource in{b};
                                            explicit Owned(std::string x) : b(std::move(x)), in(b) {}
                                            common::Result<std::size_t> read(std::span<std::byte> out) override { return in.read(out); }
                                        };
                                        return std::make_unique<Owned>(body);
                                    }};
    };
    entries.push_back(text("oci-layout", "{}"));
    entries.push_back(text("empty", ""));
    entries.push_back(text("blobs/sha256/big", big));
    std::uint64_t want = common::io::TarStream::size_of(entries);
    common::io::TarStream tar(entries);
    common::io::StringSink out(1 << 20, "tar");
    REQUIRE(common::io::copy(tar, out));
    std::string bytes = out.take();
    CHECK(bytes.size() == want);
    archive* a = archive_read_new();
    archive_read_support_format_tar(a);
    REQUIRE(archive_read_open_memory(a, bytes.data(), bytes.size()) == ARCHIVE_OK);
    std::vector<std::pair<std::string, std::size_t>> seen;
    archive_entry* e = nullptr;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        std::string body(static_cast<std::size_t>(archive_entry_size(e)), '\0');
        CHECK(archive_read_data(a, body.data(), body.size()) == static_cast<la_ssize_t>(body.size()));
        if (std::string(archive_entry_pathname(e)) == "blobs/sha256/big") CHECK(body == big);
        seen.emplace_back(archive_entry_pathname(e), body.size());
        CHECK(archive_entry_mtime(e) == 0);
    }
    archive_read_free(a);
    CHECK(seen == std::vector<std::pair<std::string, std::size_t>>{{"oci-layout", 2}, {"empty", 0}, {"blobs/sha256/big", 70000}});

    // A source that gives less than the entry's size is an error, not a short archive.
    entries[2].size = 80000;
    common::io::TarStream short_tar(entries);
    common::io::StringSink sink(1 << 20, "tar");
    auto r = common::io::copy(short_tar, sink);
    REQUIRE(!r);
    CHECK(r.error().code == common::Errc::size_mismatch);
}

TEST_CASE("image archives name the image and check every store blob")
{
    Scratch s;
    auto store = common::store::BlobStore::open(s / "store").value();
    LockedImage image = two_images()[1];
    image.top = desc("manifest b", common::oci::media::oci_manifest);
    for (std::string_view content : {"manifest b", "config b", "base layer"}) {
        common::store::BlobRef ref{common::digest::sha256_of(content), content.size()};
        auto in = store.begin(ref);
        REQUIRE(in->write(std::as_bytes(std::span(content.data(), content.size()))));
        REQUIRE(in->commit());
    }
    CHECK(containerd_name(image) == "ghcr.io/x/tool:2");
    CHECK(archive_file_name(image) == "ghcr.io_x_tool_2.tar");
    auto entries = image_archive(image, store);
    REQUIRE(entries.size() == 5); // oci-layout, index.json, 3 blobs
    common::io::TarStream ok(entries);
    common::io::StringSink sink(1 << 20, "archive");
    REQUIRE(common::io::copy(ok, sink));
    std::string bytes = sink.take();
    CHECK(bytes.find("\"io.containerd.image.name\":\"ghcr.io/x/tool:2\"") != std::string::npos);

    // A damaged store blob stops the archive, naming the blob.
    fs::path layer = store.blob_path(common::digest::sha256_of("base layer"));
    fs::permissions(layer, fs::perms::owner_write, fs::perm_options::add);
    std::ofstream(layer, std::ios::binary) << "BASE LAYER";
    common::io::TarStream bad(image_archive(image, store));
    common::io::StringSink sink2(1 << 20, "archive");
    auto r = common::io::copy(bad, sink2);
    REQUIRE(!r);
    CHECK(r.error().code == common::Errc::digest_mismatch);
    CHECK(r.error().message.find(layer.string()) != std::string::npos);
}

TEST_CASE("http_status asks an IP literal - never a name")
{
    int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    REQUIRE(::listen(listener, 4) == 0);
    socklen_t len = sizeof(addr);
    ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
    int port = ntohs(addr.sin_port);
    std::string request;
    std::thread server([&] {
        int c = ::accept(listener, nullptr, nullptr);
        char buf[1024];
        ssize_t n = ::recv(c, buf, sizeof(buf), 0);
        if (n > 0) request.assign(buf, static_cast<std::size_t>(n));
        std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
        (void)::send(c, answer.data(), answer.size(), 0);
        ::close(c);
    });
    auto status = installer::system::http_status(fmt::format("http://127.0.0.1:{}/v2/", port), std::chrono::seconds(5));
    server.join();
    ::close(listener);
    REQUIRE(status);
    CHECK(*status == 200);
    CHECK(request.starts_with("GET /v2/ HTTP/1.0\r\n"));
    auto named = installer::system::http_status("http://localhost:5000/v2/", std::chrono::seconds(1));
    REQUIRE(!named);
    CHECK(named.error().code == common::Errc::invalid_argument);
    auto closed = installer::system::http_status(fmt::format("http://127.0.0.1:{}/v2/", port), std::chrono::seconds(1));
    REQUIRE(!closed);
    CHECK(closed.error().code == common::Errc::network);
}

TEST_SUITE_END();
