#pragma once
// CURVE key pairs, key names and key fingerprints.

#include <cstddef>
#include <string>
#include <string_view>

namespace mkmap::transport {

/// Size of a binary CURVE key [bytes].
inline constexpr std::size_t kBinaryKeySize = 32;
/// Size of a CURVE key in Z85 text, which encodes 4 bytes as 5 characters
/// [characters].
inline constexpr std::size_t kZ85KeySize = 40;
/// Maximum length of a key name [characters]. The name becomes a file stem
/// and the ZAP User-Id, so it stays short.
inline constexpr std::size_t kMaxKeyNameSize = 64;

/// A named CURVE key pair, both keys as Z85 text.
struct KeyPair {
  /// Key name: the file stem of its key files and the User-Id that the
  /// ZAP handler gives a peer using this key.
  std::string name;
  /// Public key [40 Z85 characters].
  std::string public_z85;
  /// Secret key [40 Z85 characters]. Never log or send it.
  std::string secret_z85;
};

/// Checks a key name: 1 to kMaxKeyNameSize characters from [A-Za-z0-9._-],
/// starting with a letter or digit so that it is never a hidden file, "..",
/// or mistaken for a command-line option.
[[nodiscard]] bool is_valid_key_name(std::string_view name);

/// Checks that text is a 40-character Z85 string that decodes to 32 bytes.
[[nodiscard]] bool is_valid_z85_key(std::string_view text);

/// Throws: KeyError naming the name and the allowed characters unless
/// is_valid_key_name(name).
void check_key_name(std::string_view name);

/// Generates a fresh key pair with libzmq's CURVE implementation.
/// Throws: KeyError if the name is invalid or libzmq lacks CURVE support.
[[nodiscard]] KeyPair generate_key_pair(const std::string& name);

/// Derives the public key that belongs to a secret key.
/// Throws: KeyError if secret_z85 is not a valid Z85 key.
[[nodiscard]] std::string derive_public_key(const std::string& secret_z85);

/// Encodes a 32-byte binary key as Z85 text.
/// Throws: KeyError if the input is not 32 bytes long.
[[nodiscard]] std::string encode_z85_key(std::string_view binary_key);

/// Returns a short, stable identifier of a public key that is safe to log:
/// the first 8 bytes of the SHA-256 digest of the 32-byte binary key, as
/// 16 lowercase hex digits.
/// Throws: KeyError if public_z85 is not a valid Z85 key.
[[nodiscard]] std::string fingerprint(const std::string& public_z85);

}  // namespace mkmap::transport
