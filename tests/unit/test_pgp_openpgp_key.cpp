// SPDX-License-Identifier: Apache-2.0
// common::pgp::SigningKey: the secret file, the public keyring's bytes, and InRelease files checked by the
// verifiers apt runs: gpgv (apt's gpgv method) and sqv (apt 3.x's sqv method).
#include <doctest/doctest.h>

#include "scratch.hpp"

#include <common/pgp/openpgp_key.hpp>
#include <common/util/process.hpp>

#include <openssl/evp.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

using common::Errc;
using common::pgp::SigningKey;

// No commas in test names: doctest_discover_tests would lose the ctest label.
TEST_SUITE_BEGIN("apt");

namespace {

const std::string k_user_id = "platform-installer node repository <root@node>";

// A Release as the installer writes one, with trailing blanks and lines starting with '-' added.
const std::string k_release = "Origin: platform-installer\n"
                              "Label: platform-installer node repository   \n"
                              "Suite: node\n"
                              "Codename: node\t\n"
                              "Date: Mon, 23 Nov 2026 14:00:00 UTC\n"
                              "Architectures: amd64 all\n"
                              "Components: main\n"
                              "-Note: this line starts with a dash\n"
                              "-----BEGIN PGP SIGNATURE-----\n"
                              "SHA256:\n"
                              " 0f4b7c2a2d36e9f1bd4b01e4f2fb3d8a0c6e0c6a9d0f7bb1c7c5b6f2e8a9d001 1234"
                              " main/binary-amd64/Packages \n"
                              " 9a8d2f0c1b3e4d5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f  567"
                              " main/binary-amd64/Packages.gz\n";

std::int64_t now() { return static_cast<std::int64_t>(std::time(nullptr)); }

std::string slurp(const std::filesystem::path& p)
{
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

SigningKey make_key(std::int64_t created)
{
    auto key = SigningKey::generate(k_user_id, created);
    REQUIRE(key);
    return *key;
}

// What apt's SplitClearSignedFile makes of an InRelease before it runs gpgv or sqv on the two halves:
// each line without its "\r\n"/"\n" and trailing blanks; "- " removed; message lines joined by "\n".
struct Split {
    std::string message, signature;
};
Split apt_split(const std::string& inrelease)
{
    std::istringstream in(inrelease);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) {
        while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
        while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.pop_back();
        lines.push_back(line);
    }
    std::size_t i = 0;
    while (i < lines.size() && !lines[i].empty()) ++i; // armor headers
    Split split;
    bool first = true;
    for (++i; i < lines.size() && lines[i] != "-----BEGIN PGP SIGNATURE-----"; ++i) {
        if (!first) split.message += '\n';
        split.message += lines[i].starts_with("- ") ? lines[i].substr(2) : lines[i];
        first = false;
    }
    for (; i < lines.size(); ++i) split.signature += lines[i] + "\n";
    return split;
}

// The signature packet inside an InRelease's armor, and back (with a correct CRC-24), to change its bytes.
std::string dearmor(const std::string& inrelease)
{
    std::size_t begin = inrelease.find("-----BEGIN PGP SIGNATURE-----\n\n");
    REQUIRE(begin != std::string::npos);
    std::istringstream in(inrelease.substr(begin + 31));
    std::string b64;
    for (std::string line; std::getline(in, line) && !line.starts_with("=");) b64 += line;
    std::string out(b64.size(), '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(b64.data()), static_cast<int>(b64.size()));
    REQUIRE(n > 0);
    out.resize(static_cast<std::size_t>(n) - (b64.ends_with("==") ? 2 : b64.ends_with("=") ? 1 : 0));
    return out;
}

std::string rearmor(const std::string& inrelease, const std::string& packet)
{
    std::uint32_t crc = 0xB704CE;
    for (char c : packet) {
        crc ^= static_cast<std::uint32_t>(static_cast<std::uint8_t>(c)) << 16;
        for (int i = 0; i < 8; ++i) crc = (crc << 1) ^ ((crc & 0x800000) ? 0x1864CFB : 0);
    }
    auto b64 = [](const std::string& data) {
        std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
        out.resize(static_cast<std::size_t>(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                                            reinterpret_cast<const unsigned char*>(data.data()),
                                                            static_cast<int>(data.size()))));
        return out;
    };
    std::string body = b64(packet);
    std::string armored = "-----BEGIN PGP SIGNATURE-----\n\n";
    for (std::size_t i = 0; i < body.size(); i += 64) armored += body.substr(i, 64) + "\n";
    std::string crc_bytes{static_cast<char>(crc >> 16), static_cast<char>(crc >> 8), static_cast<char>(crc)};
    armored += "=" + b64(crc_bytes);
    armored += "\n-----END PGP SIGNATURE-----\n";
    return inrelease.substr(0, inrelease.find("-----BEGIN PGP SIGNATURE-----\n\n")) + armored;
}

// The bit counts of the signature's MPIs r and s; checks each MPI has no leading zero byte and an exact
// bit count (what RFC 4880 3.2 asks), so stripped values are tested, not assumed.
struct Mpis {
    int r_bits = 0, s_bits = 0;
};
Mpis read_mpis(const std::string& packet)
{
    auto u8 = [&](std::size_t i) { return static_cast<std::uint8_t>(packet.at(i)); };
    REQUIRE(u8(0) == 0x88); // old format, tag 2, one-byte length
    REQUIRE(u8(1) + 2u == packet.size());
    std::size_t pos = 2 + 4;                      // version, type, algorithm, hash
    pos += 2 + ((u8(pos) << 8) | u8(pos + 1));   // hashed subpackets
    pos += 2 + ((u8(pos) << 8) | u8(pos + 1));   // unhashed subpackets
    pos += 2;                                     // left 16 bits of the digest
    int bits[2] = {};
    for (int& b : bits) {
        b = (u8(pos) << 8) | u8(pos + 1);
        std::size_t len = (static_cast<std::size_t>(b) + 7) / 8;
        REQUIRE(len >= 1);
        std::uint8_t top = u8(pos + 2);
        CHECK(top != 0);
        int top_bits = 0;
        for (std::uint8_t t = top; t; t >>= 1) ++top_bits;
        CHECK(b == static_cast<int>(len - 1) * 8 + top_bits);
        pos += 2 + len;
    }
    CHECK(pos == packet.size());
    return {bits[0], bits[1]};
}

// gpgv as apt's gpgv method runs it, on the clearsigned file itself; --homedir keeps ~/.gnupg untouched,
// --status-fd 1 gives GOODSIG/VALIDSIG lines.
common::ProcessResult gpgv(const Scratch& s, const std::filesystem::path& keyring, const std::filesystem::path& file)
{
    std::filesystem::create_directories(s / "gnupg");
    std::filesystem::permissions(s / "gnupg", std::filesystem::perms::owner_all);
    auto r = common::run_process({"gpgv", "--homedir", (s / "gnupg").string(), "--status-fd", "1", "--keyring",
                                  std::filesystem::absolute(keyring).string(), file.string()});
    REQUIRE_MESSAGE(r, "gpgv is not installed: run scripts/setup");
    return *r;
}

// sqv as apt 3.x's sqv method runs it: apt splits InRelease (SplitClearSignedFile) and calls
// `sqv --keyring K SIG DATA`, reading the signers' fingerprints from stdout. sqv 1.1.0 (Debian 12) knows
// only detached signatures. No time or policy flag is needed: --not-after defaults to now (our signatures
// are dated a minute back) and there is no --not-before; the key is dated before the signature, as
// Sequoia wants the key and its self-signature to exist when it signed. apt may set
// SEQUOIA_CRYPTO_POLICY; its default policy accepts Ed25519 with SHA-512.
common::ProcessResult sqv(const Scratch& s, const std::filesystem::path& keyring, const std::string& inrelease)
{
    Split split = apt_split(inrelease);
    auto sig = s.write("sqv/InRelease.sig", split.signature);
    auto data = s.write("sqv/InRelease.data", split.message);
    auto r = common::run_process({"sqv", "--keyring", keyring.string(), sig.string(), data.string()});
    REQUIRE_MESSAGE(r, "sqv is not installed: run scripts/setup (Debian package sqv)");
    return *r;
}

} // namespace

TEST_CASE("SigningKey::serialize and parse round-trip")
{
    SigningKey key = make_key(now() - 3600);
    std::string text = key.serialize();
    auto back = SigningKey::parse(text);
    REQUIRE(back);
    CHECK(back->serialize() == text);
    CHECK(back->user_id() == k_user_id);
    CHECK(back->created() == key.created());
    CHECK(back->fingerprint_hex() == key.fingerprint_hex());
    CHECK(back->public_keyring() == key.public_keyring());
    // Ed25519 is deterministic: the parsed key signs byte for byte as the original.
    CHECK(*back->clearsign(k_release, key.created() + 5) == *key.clearsign(k_release, key.created() + 5));
    CHECK(text.starts_with("platform-installer openpgp-key 1\ncreated: "));

    SUBCASE("without the final newline") { CHECK(SigningKey::parse(text.substr(0, text.size() - 1))); }
}

TEST_CASE("SigningKey::parse refuses bad input and never echoes the seed")
{
    SigningKey key = make_key(1700000000);
    const std::string good = key.serialize();
    const std::string seed = good.substr(good.find("ed25519-seed: ") + 14, 64);
    auto replace = [&](const std::string& from, const std::string& to) {
        std::string t = good;
        t.replace(t.find(from), from.size(), to);
        return t;
    };
    auto other = make_key(1700000000);
    struct Case {
        std::string name, text;
        Errc code;
    };
    std::vector<Case> cases{
        {"empty", "", Errc::corrupt},
        {"not a key file", "hello\n", Errc::corrupt},
        {"a later format", replace("openpgp-key 1", "openpgp-key 2"), Errc::unsupported},
        {"CRLF", replace("\n", "\r\n"), Errc::corrupt},
        {"a line missing", replace("created: 1700000000\n", ""), Errc::corrupt},
        {"an extra line", good + "comment: x\n", Errc::corrupt},
        {"a renamed field", replace("user-id:", "userid:"), Errc::corrupt},
        {"created not a number", replace("1700000000", "17000x0000"), Errc::corrupt},
        {"created negative", replace("1700000000", "-1"), Errc::corrupt},
        {"created past 32 bits", replace("1700000000", "4294967296"), Errc::corrupt},
        {"empty user ID", replace(k_user_id, ""), Errc::corrupt},
        {"control character in user ID", replace("<root@node>", "<root\x01@node>"), Errc::corrupt},
        {"user ID not UTF-8", replace("node repository", "node \xff repository"), Errc::corrupt},
        {"short fingerprint", replace(key.fingerprint_hex(), key.fingerprint_hex().substr(2)), Errc::corrupt},
        {"seed not hex", replace(seed, seed.substr(0, 63) + "g"), Errc::corrupt},
        {"short seed", replace(seed, seed.substr(0, 62)), Errc::corrupt},
        {"another key's fingerprint", replace(key.fingerprint_hex(), other.fingerprint_hex()), Errc::digest_mismatch},
        {"another creation time", replace("1700000000", "1700000001"), Errc::digest_mismatch},
        {"a changed seed", replace(seed, (seed[0] == '0' ? "1" : "0") + seed.substr(1)), Errc::digest_mismatch},
    };
    for (const Case& c : cases) {
        CAPTURE(c.name);
        auto r = SigningKey::parse(c.text);
        REQUIRE(!r);
        CHECK(r.error().code == c.code);
        CHECK(r.error().message.find(seed) == std::string::npos);
        CHECK(r.error().message.find(seed.substr(1, 62)) == std::string::npos);
    }
}

TEST_CASE("SigningKey::generate and clearsign refuse bad arguments")
{
    CHECK(SigningKey::generate("", 1).error().code == Errc::invalid_argument);
    CHECK(SigningKey::generate("a\nb", 1).error().code == Errc::invalid_argument);
    CHECK(SigningKey::generate(std::string(1025, 'a'), 1).error().code == Errc::invalid_argument);
    CHECK(SigningKey::generate(k_user_id, -1).error().code == Errc::invalid_argument);
    CHECK(SigningKey::generate(k_user_id, 4294967296LL).error().code == Errc::invalid_argument);
    CHECK(SigningKey::generate("Zoë <z@node>", 0)); // UTF-8 is fine

    SigningKey key = make_key(1700000000);
    CHECK(key.clearsign("a\n", 1699999999).error().code == Errc::invalid_argument); // before the key existed
    CHECK(key.clearsign("a\n", 4294967296LL).error().code == Errc::invalid_argument);
    CHECK(key.clearsign("a\rb\n", 1700000000).error().code == Errc::invalid_argument);
}

TEST_CASE("SigningKey fingerprint is 40 upper-case hex digits of SHA-1 over the key packet and survives parse")
{
    SigningKey key = make_key(1700000000);
    std::string fpr = key.fingerprint_hex();
    REQUIRE(fpr.size() == 40);
    CHECK(fpr.find_first_not_of("0123456789ABCDEF") == std::string::npos);
    CHECK(key.key_id_hex() == fpr.substr(24));
    CHECK(SigningKey::parse(key.serialize())->fingerprint_hex() == fpr);
    CHECK(make_key(1700000000).fingerprint_hex() != fpr);

    // Layout of the keyring's first packet: 0x98 0x33 (old format, tag 6, 51 bytes), v4, time, EdDSALegacy,
    // the Ed25519 OID, then the 263-bit MPI 0x40 || key. The fingerprint is SHA-1(0x99, 0x00 0x33, body).
    std::string ring = key.public_keyring();
    REQUIRE(ring.size() > 53);
    CHECK(ring.substr(0, 3) == std::string("\x98\x33\x04", 3));
    CHECK(ring.substr(3, 4) == std::string("\x65\x53\xF1\x00", 4)); // 1700000000
    CHECK(ring.substr(7, 11) == std::string("\x16\x09\x2B\x06\x01\x04\x01\xDA\x47\x0F\x01", 11));
    CHECK(ring.substr(18, 3) == std::string("\x01\x07\x40", 3));
    std::string hashed = std::string("\x99\x00\x33", 3) + ring.substr(2, 51);
    unsigned char sha1[20];
    unsigned int len = 0;
    REQUIRE(EVP_Digest(hashed.data(), hashed.size(), sha1, &len, EVP_sha1(), nullptr) == 1);
    std::string hex;
    for (unsigned char b : sha1) hex += fmt::format("{:02X}", b);
    CHECK(hex == fpr);
    // Then the user ID packet (0xB4, length, text) and the self-signature (0x88, tag 2).
    CHECK(ring.substr(53, 2) == std::string("\xB4") + static_cast<char>(k_user_id.size()));
    CHECK(ring.substr(55, k_user_id.size()) == k_user_id);
    CHECK(static_cast<std::uint8_t>(ring.at(55 + k_user_id.size())) == 0x88);
    CHECK(key.public_keyring() == ring); // deterministic
}

TEST_CASE("SigningKey::clearsign writes the cleartext framework with dash-escapes and stripped blanks")
{
    SigningKey key = make_key(1700000000);
    auto signed_text = key.clearsign("a  \n-b\n\nc\t\n", 1700000100);
    REQUIRE(signed_text);
    CHECK(signed_text->starts_with("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\na\n- -b\n\nc\n"
                                   "-----BEGIN PGP SIGNATURE-----\n\n"));
    CHECK(signed_text->ends_with("\n-----END PGP SIGNATURE-----\n"));
    // The final newline is not signed, and CRLF endings are line endings.
    CHECK(*key.clearsign("a\nb", 1700000100) == *key.clearsign("a\nb\n", 1700000100));
    CHECK(*key.clearsign("a\r\nb\r\n", 1700000100) == *key.clearsign("a\nb\n", 1700000100));
    CHECK(*key.clearsign("x", 1700000100) != *key.clearsign("y", 1700000100));
    // The armor's checksum line is "=" and four base64 characters; the packet is a v4 text signature.
    std::string packet = dearmor(*signed_text);
    CHECK(packet.substr(2, 4) == std::string("\x04\x01\x16\x0A", 4));
    CHECK(rearmor(*signed_text, packet) == *signed_text);
    read_mpis(packet);
}

TEST_CASE("gpgv and sqv accept an InRelease and refuse it changed or checked with another key")
{
    Scratch s;
    std::int64_t t = now() - 60;
    SigningKey key = make_key(t - 3600);
    auto keyring = s.write("node.gpg", key.public_keyring());
    auto in_release = key.clearsign(k_release, t);
    REQUIRE(in_release);
    auto path = s.write("InRelease", *in_release);

    auto g = gpgv(s, keyring, path);
    INFO(g.output);
    CHECK(g.exit_code == 0);
    CHECK(g.output.find("[GNUPG:] GOODSIG " + key.key_id_hex() + " " + k_user_id) != std::string::npos);
    CHECK(g.output.find("[GNUPG:] VALIDSIG " + key.fingerprint_hex()) != std::string::npos);
    auto q = sqv(s, keyring, *in_release);
    INFO(q.output);
    CHECK(q.exit_code == 0);
    CHECK(q.output == key.fingerprint_hex() + "\n");
    // What apt reads from the file is the Release text, blanks at line ends aside, its last newline too.
    std::string want;
    std::istringstream release(k_release);
    for (std::string line; std::getline(release, line);) {
        while (line.ends_with(' ') || line.ends_with('\t')) line.pop_back();
        want += (want.empty() ? "" : "\n") + line;
    }
    CHECK(apt_split(*in_release).message == want);

    SUBCASE("one byte of the signed text changed")
    {
        std::string bad = *in_release;
        bad.replace(bad.find("Suite: node"), 11, "Suite: nodf");
        CHECK(gpgv(s, keyring, s.write("InRelease.bad", bad)).exit_code != 0);
        CHECK(sqv(s, keyring, bad).exit_code != 0);
    }
    SUBCASE("one byte of the armored signature changed")
    {
        std::string bad = *in_release;
        std::size_t pos = bad.find("-----BEGIN PGP SIGNATURE-----\n\n") + 31 + 40;
        bad[pos] = bad[pos] == 'A' ? 'B' : 'A';
        CHECK(gpgv(s, keyring, s.write("InRelease.bad", bad)).exit_code != 0);
        CHECK(sqv(s, keyring, bad).exit_code != 0);
    }
    SUBCASE("one byte of s changed, the armor checksum correct")
    {
        std::string packet = dearmor(*in_release);
        packet.back() = static_cast<char>(packet.back() ^ 0x01);
        std::string bad = rearmor(*in_release, packet);
        auto bg = gpgv(s, keyring, s.write("InRelease.bad", bad));
        CHECK(bg.exit_code != 0);
        CHECK(bg.output.find("[GNUPG:] BADSIG") != std::string::npos);
        CHECK(sqv(s, keyring, bad).exit_code != 0);
    }
    SUBCASE("another key's keyring")
    {
        auto other = s.write("other.gpg", make_key(t - 3600).public_keyring());
        auto og = gpgv(s, other, path);
        CHECK(og.exit_code != 0);
        CHECK(og.output.find("[GNUPG:] NO_PUBKEY " + key.key_id_hex()) != std::string::npos);
        CHECK(sqv(s, other, *in_release).exit_code != 0);
    }
    SUBCASE("sqv with --cleartext, where it has it (sqv >= 1.3)")
    {
        auto help = common::run_process({"sqv", "--help"});
        REQUIRE(help);
        if (help->output.find("--cleartext") == std::string::npos) return; // sqv 1.1.0: detached only
        auto out = s / "cleartext.out";
        auto r = common::run_process({"sqv", "--keyring", keyring.string(), "--cleartext", "--output", out.string(),
                                      path.string()});
        REQUIRE(r);
        INFO(r->output);
        CHECK(r->exit_code == 0);
        CHECK(slurp(out).find("Origin: platform-installer\n") != std::string::npos);
    }
}

TEST_CASE("gpgv and sqv accept a key whose user ID packet needs a two-byte length")
{
    Scratch s;
    std::int64_t t = now() - 60;
    std::string long_id = "platform-installer node repository " + std::string(300, 'n') + " <root@node>";
    auto key = SigningKey::generate(long_id, t - 3600);
    REQUIRE(key);
    std::string ring = key->public_keyring();
    CHECK(ring.substr(53, 3) == std::string("\xB5\x01") + static_cast<char>(long_id.size() - 256));
    auto keyring = s.write("node.gpg", ring);
    auto text = key->clearsign(k_release, t);
    REQUIRE(text);
    auto g = gpgv(s, keyring, s.write("InRelease", *text));
    INFO(g.output);
    CHECK(g.exit_code == 0);
    CHECK(g.output.find("[GNUPG:] GOODSIG " + key->key_id_hex() + " " + long_id) != std::string::npos);
    CHECK(sqv(s, keyring, *text).exit_code == 0);
}

TEST_CASE("gpgv and sqv accept signatures whose r or s MPI lost leading zero bytes")
{
    // r and s are the Ed25519 signature's halves read as big-endian numbers; about 1 in 256 starts with a
    // zero byte, which the MPI drops. Search signing times for one of each and have both tools check them.
    Scratch s;
    std::int64_t t = now() - 60;
    SigningKey key = make_key(t - 100000);
    auto keyring = s.write("node.gpg", key.public_keyring());
    bool short_r = false, short_s = false;
    for (std::int64_t when = t; when > t - 20000 && !(short_r && short_s); --when) {
        auto text = key.clearsign(k_release, when);
        REQUIRE(text);
        Mpis m = read_mpis(dearmor(*text));
        bool is_r = m.r_bits <= 248 && !short_r, is_s = m.s_bits <= 248 && !short_s;
        if (!is_r && !is_s) continue;
        CAPTURE(m.r_bits);
        CAPTURE(m.s_bits);
        CHECK(gpgv(s, keyring, s.write("InRelease", *text)).exit_code == 0);
        CHECK(sqv(s, keyring, *text).exit_code == 0);
        short_r = short_r || is_r;
        short_s = short_s || is_s;
    }
    CHECK(short_r);
    CHECK(short_s);
}

TEST_SUITE_END();
