#include "transport/authorized_keys.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <system_error>
#include <utility>

#include "transport/errors.hpp"

namespace mkmap::transport {

namespace fs = std::filesystem;

namespace {

std::int64_t to_nanoseconds(const timespec& time) {
  constexpr std::int64_t kNanosecondsPerSecond = 1'000'000'000;
  return static_cast<std::int64_t>(time.tv_sec) * kNanosecondsPerSecond +
         time.tv_nsec;
}

}  // namespace

AuthorizedKeys::AuthorizedKeys(fs::path dir) : dir_(std::move(dir)) {}

std::optional<std::string> AuthorizedKeys::find(const std::string& public_z85) {
  const std::vector<fs::path> files = list_key_files();

  // Forget files that are gone, so a re-added file is loaded afresh.
  for (auto entry = cache_.begin(); entry != cache_.end();) {
    const bool present =
        std::binary_search(files.begin(), files.end(), entry->first);
    entry = present ? std::next(entry) : cache_.erase(entry);
  }

  std::optional<std::string> name;
  for (const fs::path& path : files) {
    const CachedFile& cached = refresh(path);
    if (!name && cached.key && cached.key->public_z85 == public_z85) {
      name = cached.key->name;
    }
  }
  return name;
}

std::vector<std::string> AuthorizedKeys::take_new_problems() {
  return std::exchange(new_problems_, {});
}

std::vector<fs::path> AuthorizedKeys::list_key_files() {
  std::vector<fs::path> files;
  std::error_code error;
  fs::directory_iterator entries(dir_, error);
  for (; !error && entries != fs::directory_iterator(); entries.increment(error)) {
    const fs::directory_entry& entry = *entries;
    std::error_code type_error;
    if (entry.path().extension() == kPublicKeySuffix &&
        entry.is_regular_file(type_error)) {
      files.push_back(entry.path());
    }
  }

  // A lasting listing error (missing folder, no permission) is reported once.
  const std::string listing_error =
      error ? "cannot list authorized-keys folder " + dir_.string() + ": " +
                  error.message() + "; every client is rejected until it is readable"
            : std::string();
  if (!listing_error.empty() && listing_error != last_listing_error_) {
    new_problems_.push_back(listing_error);
  }
  last_listing_error_ = listing_error;

  std::sort(files.begin(), files.end());
  return files;
}

bool AuthorizedKeys::FileVersion::operator==(const FileVersion& other) const {
  return device == other.device && inode == other.inode &&
         size_bytes == other.size_bytes && modified_ns == other.modified_ns &&
         changed_ns == other.changed_ns;
}

const AuthorizedKeys::CachedFile& AuthorizedKeys::refresh(const fs::path& path) {
  // A failed stat() leaves an all-zero version, which never matches a cached
  // one, so the file is loaded and its error reported.
  FileVersion version;
  struct stat status {};
  if (::stat(path.c_str(), &status) == 0) {
    version = FileVersion{static_cast<std::uint64_t>(status.st_dev),
                          static_cast<std::uint64_t>(status.st_ino),
                          static_cast<std::int64_t>(status.st_size),
                          to_nanoseconds(status.st_mtim),
                          to_nanoseconds(status.st_ctim)};
  }

  const auto found = cache_.find(path);
  if (found != cache_.end() && found->second.version == version &&
      version.inode != 0) {
    return found->second;
  }

  CachedFile cached{version, std::nullopt};
  try {
    cached.key = load_named_public_key(path);
  } catch (const KeyError& key_error) {
    new_problems_.push_back(std::string(key_error.what()) +
                            "; this key is not authorized");
  }
  return cache_.insert_or_assign(path, std::move(cached)).first->second;
}

}  // namespace mkmap::transport
