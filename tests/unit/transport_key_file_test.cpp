#include <catch2/catch.hpp>

#include "temp_dir.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "transport/errors.hpp"
#include "transport/key_file.hpp"
#include "transport/key_pair.hpp"

namespace fs = std::filesystem;
using namespace mkmap::transport;
using mkmap::test::TempDir;

namespace {

mode_t permission_bits(const fs::path& path) {
  struct stat status {};
  REQUIRE(::stat(path.c_str(), &status) == 0);
  return status.st_mode & 07777;
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream file(path);
  file << text;
  REQUIRE(file.good());
}

/// Message of the KeyError that call throws; fails the test if none.
template <typename Call>
std::string key_error_message(Call call) {
  try {
    call();
  } catch (const KeyError& error) {
    return error.what();
  }
  FAIL("expected a KeyError");
  return {};
}

}  // namespace

TEST_CASE("key pair round trip", "[transport][keys]") {
  TempDir dir;
  const KeyPair pair = generate_key_pair("worker-1");
  REQUIRE(pair.public_z85.size() == kZ85KeySize);
  REQUIRE(pair.secret_z85.size() == kZ85KeySize);
  REQUIRE(derive_public_key(pair.secret_z85) == pair.public_z85);

  write_key_pair(dir.path(), pair);

  const KeyPair loaded =
      load_secret_key_file(dir.path() / "worker-1.key_secret");
  CHECK(loaded.name == "worker-1");
  CHECK(loaded.public_z85 == pair.public_z85);
  CHECK(loaded.secret_z85 == pair.secret_z85);

  CHECK(load_public_key_file(dir.path() / "worker-1.key") == pair.public_z85);
  const NamedPublicKey named = load_named_public_key(dir.path() / "worker-1.key");
  CHECK(named.name == "worker-1");
  CHECK(named.public_z85 == pair.public_z85);
}

TEST_CASE("key public file contains no secret", "[transport][keys]") {
  TempDir dir;
  const KeyPair pair = generate_key_pair("w");
  write_key_pair(dir.path(), pair);

  std::ifstream file(dir.path() / "w.key");
  const std::string text((std::istreambuf_iterator<char>(file)),
                         std::istreambuf_iterator<char>());
  CHECK(text.find(pair.public_z85) != std::string::npos);
  CHECK(text.find(pair.secret_z85) == std::string::npos);
  CHECK(text.find("secret-key") == std::string::npos);
}

TEST_CASE("key secret file mode 0600", "[transport][keys]") {
  TempDir dir;
  // A permissive umask must not widen the mode of the secret file.
  const mode_t old_umask = ::umask(0);
  write_key_pair(dir.path(), generate_key_pair("w"));
  ::umask(old_umask);

  CHECK(permission_bits(dir.path() / "w.key_secret") == 0600);
  CHECK(permission_bits(dir.path() / "w.key") == 0644);
}

TEST_CASE("key secret file readable by others", "[transport][keys]") {
  TempDir dir;
  write_key_pair(dir.path(), generate_key_pair("w"));
  const fs::path secret = dir.path() / "w.key_secret";

  for (const mode_t mode : {0644, 0640, 0604, 0620}) {
    REQUIRE(::chmod(secret.c_str(), mode) == 0);
    const std::string message =
        key_error_message([&] { (void)load_secret_key_file(secret); });
    INFO(message);
    CHECK(message.find(secret.string()) != std::string::npos);
    CHECK(message.find("chmod 600 " + secret.string()) != std::string::npos);
  }

  REQUIRE(::chmod(secret.c_str(), 0644) == 0);
  const std::string message =
      key_error_message([&] { (void)load_secret_key_file(secret); });
  CHECK(message.find("0644") != std::string::npos);

  REQUIRE(::chmod(secret.c_str(), 0400) == 0);
  CHECK_NOTHROW(load_secret_key_file(secret));
}

TEST_CASE("key corrupt files", "[transport][keys]") {
  TempDir dir;
  const KeyPair pair = generate_key_pair("w");
  const KeyPair other = generate_key_pair("other");
  const std::string header = "metadata\n    name = \"w\"\ncurve\n";

  SECTION("public key too short") {
    const fs::path path = dir.path() / "w.key";
    write_text(path, header + "    public-key = \"" +
                         pair.public_z85.substr(1) + "\"\n");
    const std::string message =
        key_error_message([&] { (void)load_public_key_file(path); });
    CHECK(message.find(path.string()) != std::string::npos);
    CHECK(message.find("public-key") != std::string::npos);
  }

  SECTION("character outside Z85") {
    const fs::path path = dir.path() / "w.key";
    std::string broken = pair.public_z85;
    broken[3] = '~';
    write_text(path, header + "    public-key = \"" + broken + "\"\n");
    CHECK_THROWS_AS(load_public_key_file(path), KeyError);
  }

  SECTION("missing public key") {
    const fs::path path = dir.path() / "w.key";
    write_text(path, header);
    CHECK_THROWS_AS(load_public_key_file(path), KeyError);
  }

  SECTION("line outside a section") {
    const fs::path path = dir.path() / "w.key";
    write_text(path, "    public-key = \"" + pair.public_z85 + "\"\n");
    const std::string message =
        key_error_message([&] { (void)load_public_key_file(path); });
    CHECK(message.find("line 1") != std::string::npos);
  }

  SECTION("public key of another pair") {
    const fs::path path = dir.path() / "w.key_secret";
    write_text(path, header + "    public-key = \"" + other.public_z85 +
                         "\"\n    secret-key = \"" + pair.secret_z85 + "\"\n");
    REQUIRE(::chmod(path.c_str(), 0600) == 0);
    const std::string message =
        key_error_message([&] { (void)load_secret_key_file(path); });
    CHECK(message.find("does not belong") != std::string::npos);
    // The secret must never appear in an error message.
    CHECK(message.find(pair.secret_z85) == std::string::npos);
  }

  SECTION("secret file used as public file") {
    write_key_pair(dir.path(), pair);
    const fs::path path = dir.path() / "copied.key";
    fs::copy_file(dir.path() / "w.key_secret", path);
    const std::string message =
        key_error_message([&] { (void)load_public_key_file(path); });
    CHECK(message.find("secret-key") != std::string::npos);
  }

  SECTION("missing file") {
    const fs::path path = dir.path() / "absent.key";
    const std::string message =
        key_error_message([&] { (void)load_public_key_file(path); });
    CHECK(message.find(path.string()) != std::string::npos);
    CHECK(message.find("not found") != std::string::npos);
  }
}

TEST_CASE("key file without name uses stem", "[transport][keys]") {
  TempDir dir;
  const KeyPair pair = generate_key_pair("w");
  const fs::path path = dir.path() / "node-7.key";
  write_text(path, "# a czmq certificate\nmetadata\ncurve\n    public-key = \"" +
                       pair.public_z85 + "\"\n");
  CHECK(load_named_public_key(path).name == "node-7");
}

TEST_CASE("key files never overwritten", "[transport][keys]") {
  TempDir dir;
  const KeyPair first = generate_key_pair("w");
  write_key_pair(dir.path(), first);

  const std::string message = key_error_message(
      [&] { write_key_pair(dir.path(), generate_key_pair("w")); });
  CHECK(message.find((dir.path() / "w.key").string()) != std::string::npos);
  CHECK(message.find("already exists") != std::string::npos);
  CHECK(load_secret_key_file(dir.path() / "w.key_secret").secret_z85 ==
        first.secret_z85);

  // With only the secret file left, nothing is written either.
  fs::remove(dir.path() / "w.key");
  CHECK_THROWS_AS(write_key_pair(dir.path(), generate_key_pair("w")), KeyError);
  CHECK_FALSE(fs::exists(dir.path() / "w.key"));
}

TEST_CASE("key name rules", "[transport][keys]") {
  for (const char* name : {"w", "worker-1", "node_2.cluster", "A9"}) {
    INFO(name);
    CHECK(is_valid_key_name(name));
  }
  for (const char* name : {"", ".hidden", "..", "-n", "a/b", "a b", "é", "a\n"}) {
    INFO(name);
    CHECK_FALSE(is_valid_key_name(name));
  }
  CHECK_FALSE(is_valid_key_name(std::string(kMaxKeyNameSize + 1, 'a')));
  CHECK_THROWS_AS(generate_key_pair("../escape"), KeyError);
}

TEST_CASE("key fingerprint", "[transport][keys]") {
  const KeyPair pair = generate_key_pair("w");
  const std::string print = fingerprint(pair.public_z85);
  CHECK(print.size() == 16);
  CHECK(print.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(fingerprint(pair.public_z85) == print);
  CHECK(fingerprint(generate_key_pair("v").public_z85) != print);

  // SHA-256 of 32 zero bytes starts with 66687aadf862bd77 (Python hashlib),
  // and Z85 encodes 32 zero bytes as 40 '0' characters.
  CHECK(fingerprint(std::string(kZ85KeySize, '0')) == "66687aadf862bd77");
  CHECK_THROWS_AS(fingerprint("short"), KeyError);
}
