#pragma once
// The set of client public keys that a server accepts, read from a folder.

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "transport/key_file.hpp"

namespace mkmap::transport {

/// Public keys stored as one NAME.key file each in an authorized-keys
/// folder. Every lookup lists the folder again, so a file added or removed
/// during a run takes effect at the next lookup. A file is parsed again only
/// when its inode, size, modification time or change time differs.
/// NOTE: a file rewritten in place with the same size within one tick of the
/// file system clock (a few ms on ext4) keeps its cached key until it changes
/// again. Replacing a file with mv is always detected (new inode).
///
/// Not thread-safe: one thread owns an instance.
class AuthorizedKeys {
 public:
  explicit AuthorizedKeys(std::filesystem::path dir);

  /// Looks up a public key [40 Z85 characters] in the folder.
  /// Returns the key's name (its `name` property, else the file stem), or
  /// nullopt if no valid key file contains it. When several files contain the
  /// same key, the first in file-name order wins. Files that fail to load are
  /// skipped and reported once through take_new_problems().
  [[nodiscard]] std::optional<std::string> find(const std::string& public_z85);

  /// Returns and clears the messages about key files (or the folder itself)
  /// that failed to load since the last call. A file is reported again only
  /// after it changes.
  [[nodiscard]] std::vector<std::string> take_new_problems();

  [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }

 private:
  /// The stat() fields that change when a file is replaced or rewritten.
  struct FileVersion {
    std::uint64_t device = 0;
    std::uint64_t inode = 0;
    std::int64_t size_bytes = 0;
    std::int64_t modified_ns = 0;
    std::int64_t changed_ns = 0;

    bool operator==(const FileVersion& other) const;
  };

  /// Cached content of a key file at one version.
  struct CachedFile {
    FileVersion version;
    /// nullopt when the file failed to load.
    std::optional<NamedPublicKey> key;
  };

  /// Lists the *.key regular files of the folder in name order.
  std::vector<std::filesystem::path> list_key_files();
  /// Returns the cache entry for path, loading the file if it is new or
  /// changed.
  const CachedFile& refresh(const std::filesystem::path& path);

  std::filesystem::path dir_;
  std::map<std::filesystem::path, CachedFile> cache_;
  std::vector<std::string> new_problems_;
  /// Last folder listing error, so that a lasting error is reported once.
  std::string last_listing_error_;
};

}  // namespace mkmap::transport
