#include "transport/key_pair.hpp"

#include <sodium.h>
#include <zmq.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "transport/errors.hpp"

namespace mkmap::transport {
namespace {

/// The 85 characters of the Z85 alphabet.
constexpr std::string_view kZ85Alphabet =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    ".-:+=^!/*?&<>()[]{}@%$#";

/// Number of digest bytes shown in a fingerprint.
constexpr std::size_t kFingerprintBytes = 8;

bool is_alphanumeric(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9');
}

bool is_name_character(char c) {
  return is_alphanumeric(c) || c == '.' || c == '_' || c == '-';
}

/// Decodes a Z85 key into 32 bytes. Throws KeyError when it is invalid.
std::array<std::uint8_t, kBinaryKeySize> decode_z85_key(const std::string& text) {
  if (!is_valid_z85_key(text)) {
    throw KeyError("invalid CURVE key: expected 40 Z85 characters, got " +
                   std::to_string(text.size()) + " characters");
  }
  std::array<std::uint8_t, kBinaryKeySize> binary{};
  zmq_z85_decode(binary.data(), text.c_str());
  return binary;
}

}  // namespace

bool is_valid_key_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxKeyNameSize) {
    return false;
  }
  if (!is_alphanumeric(name.front())) {
    return false;
  }
  for (const char c : name) {
    if (!is_name_character(c)) {
      return false;
    }
  }
  return true;
}

bool is_valid_z85_key(std::string_view text) {
  if (text.size() != kZ85KeySize) {
    return false;
  }
  for (const char c : text) {
    if (kZ85Alphabet.find(c) == std::string_view::npos) {
      return false;
    }
  }

  // A group of 5 characters can still exceed 2^32 - 1, which libzmq rejects.
  const std::string terminated(text);
  std::array<std::uint8_t, kBinaryKeySize> binary{};
  return zmq_z85_decode(binary.data(), terminated.c_str()) != nullptr;
}

void check_key_name(std::string_view name) {
  if (!is_valid_key_name(name)) {
    throw KeyError("invalid key name \"" + std::string(name) +
                   "\": use 1 to " + std::to_string(kMaxKeyNameSize) +
                   " characters from A-Z, a-z, 0-9, '.', '_' and '-', "
                   "starting with a letter or digit");
  }
}

KeyPair generate_key_pair(const std::string& name) {
  check_key_name(name);
  if (zmq_has("curve") == 0) {
    throw KeyError(
        "cannot generate a CURVE key pair: this libzmq was built without "
        "CURVE support; install a libzmq built with libsodium");
  }

  // Both buffers hold 40 characters plus the terminating NUL.
  std::array<char, kZ85KeySize + 1> public_text{};
  std::array<char, kZ85KeySize + 1> secret_text{};
  if (zmq_curve_keypair(public_text.data(), secret_text.data()) != 0) {
    throw KeyError(std::string("zmq_curve_keypair failed: ") +
                   zmq_strerror(zmq_errno()));
  }

  KeyPair pair{name, std::string(public_text.data()),
               std::string(secret_text.data())};
  sodium_memzero(secret_text.data(), secret_text.size());
  return pair;
}

std::string derive_public_key(const std::string& secret_z85) {
  if (!is_valid_z85_key(secret_z85)) {
    throw KeyError("invalid CURVE secret key: expected 40 Z85 characters");
  }
  std::array<char, kZ85KeySize + 1> public_text{};
  if (zmq_curve_public(public_text.data(), secret_z85.c_str()) != 0) {
    throw KeyError(std::string("zmq_curve_public failed: ") +
                   zmq_strerror(zmq_errno()));
  }
  return std::string(public_text.data());
}

std::string encode_z85_key(std::string_view binary_key) {
  if (binary_key.size() != kBinaryKeySize) {
    throw KeyError("invalid binary CURVE key: expected " +
                   std::to_string(kBinaryKeySize) + " bytes, got " +
                   std::to_string(binary_key.size()));
  }
  std::array<char, kZ85KeySize + 1> text{};
  zmq_z85_encode(text.data(),
                 reinterpret_cast<const std::uint8_t*>(binary_key.data()),
                 binary_key.size());
  return std::string(text.data());
}

std::string fingerprint(const std::string& public_z85) {
  const auto binary = decode_z85_key(public_z85);
  if (sodium_init() < 0) {
    throw KeyError("cannot compute a key fingerprint: libsodium failed to initialise");
  }

  std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256(digest.data(), binary.data(), binary.size());

  constexpr std::string_view kHexDigits = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * kFingerprintBytes);
  for (std::size_t i = 0; i < kFingerprintBytes; ++i) {
    hex.push_back(kHexDigits[digest[i] >> 4]);
    hex.push_back(kHexDigits[digest[i] & 0x0f]);
  }
  return hex;
}

}  // namespace mkmap::transport
