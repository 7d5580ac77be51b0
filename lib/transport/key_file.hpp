#pragma once
// Key files: the text files that store a named CURVE key pair on disk.
//
// A key pair NAME lives in two files of one directory:
//
//   NAME.key         public key only. It contains no secret: copy it to every
//                    peer that must trust NAME (a worker's file goes into the
//                    servers' authorized folder, the server's file goes to
//                    every worker).
//   NAME.key_secret  public and secret key, created with mode 0600. A process
//                    refuses to load it while group or others have any
//                    permission on it.
//
// Both files follow the section layout of czmq's ZPL certificates, so a
// czmq certificate loads too:
//
//   #   mkmap CURVE public key "worker-1", created 2026-12-04T20:30:00Z
//   #   ...more comment lines...
//   metadata
//       name = "worker-1"
//   curve
//       public-key = "<40 Z85 characters>"
//       secret-key = "<40 Z85 characters>"      <- NAME.key_secret only
//
// Reading rules: blank lines and lines whose first non-blank character is
// '#' are skipped. A line without indentation opens a section. An indented
// line `property = "value"` (the quotes are optional for a value without
// blanks) sets a property of the current section. Unknown sections and
// properties are ignored. The `name` property is optional and defaults to
// the file stem. A public file that contains a secret-key is rejected, so a
// secret file renamed to NAME.key never authorizes anyone.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "transport/key_pair.hpp"

namespace mkmap::transport {

/// File name suffix of a public key file.
inline constexpr std::string_view kPublicKeySuffix = ".key";
/// File name suffix of a secret key file.
inline constexpr std::string_view kSecretKeySuffix = ".key_secret";
/// Maximum size of a key file that the loaders read [bytes]. Real files are
/// under 1 KiB, so a larger file is not a key file.
inline constexpr std::uintmax_t kMaxKeyFileSize_bytes = 64 * 1024;

/// A public key with the name it is known by.
struct NamedPublicKey {
  std::string name;
  /// Public key [40 Z85 characters].
  std::string public_z85;
};

/// Returns dir/NAME.key.
[[nodiscard]] std::filesystem::path public_key_path(
    const std::filesystem::path& dir, const std::string& name);

/// Returns dir/NAME.key_secret.
[[nodiscard]] std::filesystem::path secret_key_path(
    const std::filesystem::path& dir, const std::string& name);

/// Creates dir with mode 0700 if it does not exist. An existing directory
/// is left as it is.
/// Throws: KeyError naming the directory if it cannot be created or is not a
/// directory.
void create_private_directory(const std::filesystem::path& dir);

/// Writes the public key of a pair to path, with mode 0644 less the umask.
/// Throws: KeyError if path already exists (it is never overwritten), the
/// pair is inconsistent, or writing fails.
void write_public_key_file(const std::filesystem::path& path,
                           const KeyPair& pair);

/// Writes both keys of a pair to path. The file is created with mode 0600
/// in the same open() call, so it is never readable by others.
/// Throws: KeyError as write_public_key_file.
void write_secret_key_file(const std::filesystem::path& path,
                           const KeyPair& pair);

/// Writes dir/NAME.key and dir/NAME.key_secret for pair.name. The directory
/// must exist. If either file exists, nothing is written.
/// Throws: KeyError naming the existing file, or as the writers above.
void write_key_pair(const std::filesystem::path& dir, const KeyPair& pair);

/// Loads a secret key file and checks its permissions, both keys, and that
/// the public key belongs to the secret key.
/// Throws: KeyError naming the file and the fix, e.g. `chmod 600 FILE` when
/// group or others have any permission on it.
[[nodiscard]] KeyPair load_secret_key_file(const std::filesystem::path& path);

/// Loads a public key file and returns its public key [40 Z85 characters].
/// Throws: KeyError naming the file if it is missing, malformed, has an
/// invalid key or contains a secret key.
[[nodiscard]] std::string load_public_key_file(
    const std::filesystem::path& path);

/// Loads a public key file with its name (the `name` property, else the
/// file stem).
/// Throws: KeyError as load_public_key_file, or if the name is invalid.
[[nodiscard]] NamedPublicKey load_named_public_key(
    const std::filesystem::path& path);

}  // namespace mkmap::transport
