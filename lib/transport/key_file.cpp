#include "transport/key_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <optional>
#include <system_error>

#include "transport/errors.hpp"

namespace mkmap::transport {
namespace {

namespace fs = std::filesystem;

/// Mode of a new public key file, before the umask.
constexpr mode_t kPublicFileMode = 0644;
/// Mode of a new secret key file. Only the owner may read or write it.
constexpr mode_t kSecretFileMode = 0600;
/// Mode of a new key directory.
constexpr mode_t kPrivateDirectoryMode = 0700;
/// Permission bits of group and others, none of which a secret file may have.
constexpr mode_t kGroupOtherBits = 0077;

/// Owns a POSIX file descriptor and closes it once.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;

  [[nodiscard]] int get() const { return fd_; }

  /// Closes the descriptor and returns close()'s result, so that a failed
  /// write-back is reported.
  int close() {
    const int result = ::close(fd_);
    fd_ = -1;
    return result;
  }

 private:
  int fd_;
};

/// The two sections of a key file that mkmap reads.
struct KeyFileSections {
  std::map<std::string, std::string> metadata;
  std::map<std::string, std::string> curve;
};

std::string error_text(int error_number) {
  return std::system_category().message(error_number);
}

std::string mode_text(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) {
    return {};
  }
  const auto last = text.find_last_not_of(" \t\r");
  return text.substr(first, last - first + 1);
}

std::string utc_timestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

/// Parses `property = value` with an optional pair of double quotes.
/// Returns nullopt when the line has no '=' or an unbalanced quote.
std::optional<std::pair<std::string, std::string>> parse_property(
    std::string_view line) {
  const auto equals = line.find('=');
  if (equals == std::string_view::npos) {
    return std::nullopt;
  }
  const std::string_view property = trim(line.substr(0, equals));
  std::string_view value = trim(line.substr(equals + 1));
  if (property.empty()) {
    return std::nullopt;
  }

  if (!value.empty() && value.front() == '"') {
    if (value.size() < 2 || value.back() != '"') {
      return std::nullopt;
    }
    value = value.substr(1, value.size() - 2);
  }
  return std::make_pair(std::string(property), std::string(value));
}

/// Parses key file text. Error messages never quote a line, because a line of
/// a secret file may contain the secret key.
KeyFileSections parse_key_text(const fs::path& path, std::string_view text) {
  KeyFileSections sections;
  std::map<std::string, std::string>* current = nullptr;
  bool in_section = false;
  int line_number = 0;

  while (!text.empty()) {
    const auto newline = text.find('\n');
    const std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view{}
                                             : text.substr(newline + 1);
    ++line_number;

    const std::string_view content = trim(line);
    if (content.empty() || content.front() == '#') {
      continue;
    }

    // A line without indentation opens a section.
    if (line.front() != ' ' && line.front() != '\t') {
      in_section = true;
      current = content == "metadata" ? &sections.metadata
                : content == "curve"  ? &sections.curve
                                      : nullptr;
      continue;
    }

    const auto property = parse_property(content);
    if (!in_section || !property) {
      throw KeyError("key file " + path.string() + ", line " +
                     std::to_string(line_number) +
                     ": expected an indented `property = \"value\"` line "
                     "inside a section; regenerate the file with mkmap-keygen");
    }
    if (current == nullptr) {
      continue;
    }
    if (!current->emplace(property->first, property->second).second) {
      throw KeyError("key file " + path.string() + ", line " +
                     std::to_string(line_number) + ": duplicate property \"" +
                     property->first + "\"");
    }
  }
  return sections;
}

/// Reads a whole key file after checking that it is a small regular file
/// and, for a secret file, that only its owner has access.
std::string read_key_file(const fs::path& path, bool secret) {
  // O_NONBLOCK keeps open() from hanging on a FIFO placed at path.
  FileDescriptor file(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (file.get() < 0) {
    const int error = errno;
    if (error == ENOENT) {
      throw KeyError("key file " + path.string() +
                     " not found; create it with mkmap-keygen or pass the "
                     "right path");
    }
    throw KeyError("cannot open key file " + path.string() + ": " +
                   error_text(error));
  }

  struct stat status {};
  if (::fstat(file.get(), &status) != 0) {
    throw KeyError("cannot stat key file " + path.string() + ": " +
                   error_text(errno));
  }
  if (!S_ISREG(status.st_mode)) {
    throw KeyError("key file " + path.string() + " is not a regular file");
  }
  if (secret && (status.st_mode & kGroupOtherBits) != 0) {
    throw KeyError("secret key file " + path.string() + " has mode " +
                   mode_text(status.st_mode) +
                   ", which gives group or other users access to it; run "
                   "`chmod 600 " + path.string() + "` and start again");
  }
  if (static_cast<std::uintmax_t>(status.st_size) > kMaxKeyFileSize_bytes) {
    throw KeyError("key file " + path.string() + " is " +
                   std::to_string(status.st_size) + " bytes long, more than " +
                   std::to_string(kMaxKeyFileSize_bytes) +
                   " bytes; it is not a key file");
  }

  std::string text(static_cast<std::size_t>(status.st_size), '\0');
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t count = ::read(file.get(), text.data() + done, text.size() - done);
    if (count < 0 && errno == EINTR) {
      continue;
    }
    if (count < 0) {
      throw KeyError("cannot read key file " + path.string() + ": " +
                     error_text(errno));
    }
    if (count == 0) {
      break;
    }
    done += static_cast<std::size_t>(count);
  }
  text.resize(done);
  return text;
}

/// Returns the value of a curve key property after checking it is a Z85 key.
std::string require_curve_key(const fs::path& path,
                              const KeyFileSections& sections,
                              const std::string& property) {
  const auto found = sections.curve.find(property);
  if (found == sections.curve.end()) {
    throw KeyError("key file " + path.string() + " has no \"" + property +
                   "\" in its curve section; regenerate it with mkmap-keygen");
  }
  if (!is_valid_z85_key(found->second)) {
    throw KeyError("key file " + path.string() + ": " + property +
                   " is not a valid CURVE key (expected " +
                   std::to_string(kZ85KeySize) +
                   " Z85 characters); the file is corrupt, regenerate it "
                   "with mkmap-keygen");
  }
  return found->second;
}

/// Returns the `name` property, or the file stem when it is absent.
std::string key_name(const fs::path& path, const KeyFileSections& sections) {
  const auto found = sections.metadata.find("name");
  const std::string name =
      found != sections.metadata.end() ? found->second : path.stem().string();
  if (!is_valid_key_name(name)) {
    throw KeyError("key file " + path.string() + " has an invalid key name \"" +
                   name + "\": use 1 to " + std::to_string(kMaxKeyNameSize) +
                   " characters from A-Z, a-z, 0-9, '.', '_' and '-'");
  }
  return name;
}

void check_pair(const KeyPair& pair) {
  check_key_name(pair.name);
  if (!is_valid_z85_key(pair.public_z85) || !is_valid_z85_key(pair.secret_z85)) {
    throw KeyError("key pair \"" + pair.name +
                   "\" has an invalid key; generate a new pair");
  }
  if (derive_public_key(pair.secret_z85) != pair.public_z85) {
    throw KeyError("key pair \"" + pair.name +
                   "\": the public key does not belong to the secret key");
  }
}

std::string format_key_file(const KeyPair& pair, bool secret) {
  std::string text;
  if (secret) {
    text += "#   mkmap CURVE secret key \"" + pair.name + "\", created " +
            utc_timestamp() + "\n";
    text += "#   Whoever holds this file can authenticate as \"" + pair.name +
            "\". Keep it at\n"
            "#   mode 0600, move it only over an encrypted channel such as "
            "scp,\n"
            "#   and never commit it to version control.\n";
  } else {
    text += "#   mkmap CURVE public key \"" + pair.name + "\", created " +
            utc_timestamp() + "\n";
    text += "#   This file contains no secret. Copy it to every peer that "
            "must trust\n"
            "#   this key: a worker's file goes into the authorized folder of "
            "the\n"
            "#   ventilator and sink, the server's file goes to every worker.\n";
  }

  text += "metadata\n";
  text += "    name = \"" + pair.name + "\"\n";
  text += "curve\n";
  text += "    public-key = \"" + pair.public_z85 + "\"\n";
  if (secret) {
    text += "    secret-key = \"" + pair.secret_z85 + "\"\n";
  }
  return text;
}

std::string already_exists_message(const fs::path& path) {
  return "key file " + path.string() +
         " already exists and key files are never overwritten; remove it "
         "first or choose another key name";
}

/// Creates path exclusively with mode and writes text to it. A partly
/// written file is removed.
void write_new_file(const fs::path& path, const std::string& text, mode_t mode) {
  FileDescriptor file(
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (file.get() < 0) {
    const int error = errno;
    if (error == EEXIST) {
      throw KeyError(already_exists_message(path));
    }
    throw KeyError("cannot create key file " + path.string() + ": " +
                   error_text(error));
  }

  std::size_t done = 0;
  int error = 0;
  while (done < text.size() && error == 0) {
    const ssize_t count = ::write(file.get(), text.data() + done, text.size() - done);
    if (count < 0 && errno != EINTR) {
      error = errno;
    } else if (count > 0) {
      done += static_cast<std::size_t>(count);
    }
  }
  if (error == 0 && ::fsync(file.get()) != 0) {
    error = errno;
  }
  if (file.close() != 0 && error == 0) {
    error = errno;
  }

  if (error != 0) {
    ::unlink(path.c_str());
    throw KeyError("cannot write key file " + path.string() + ": " +
                   error_text(error));
  }
}

}  // namespace

fs::path public_key_path(const fs::path& dir, const std::string& name) {
  return dir / (name + std::string(kPublicKeySuffix));
}

fs::path secret_key_path(const fs::path& dir, const std::string& name) {
  return dir / (name + std::string(kSecretKeySuffix));
}

void create_private_directory(const fs::path& dir) {
  if (::mkdir(dir.c_str(), kPrivateDirectoryMode) == 0) {
    return;
  }
  const int error = errno;
  std::error_code status_error;
  if (error == EEXIST && fs::is_directory(dir, status_error)) {
    return;
  }
  if (error == EEXIST) {
    throw KeyError("cannot create key directory " + dir.string() +
                   ": a file that is not a directory has that name");
  }
  throw KeyError("cannot create key directory " + dir.string() + ": " +
                 error_text(error) +
                 (error == ENOENT ? " (create its parent directory first)" : ""));
}

void write_public_key_file(const fs::path& path, const KeyPair& pair) {
  check_pair(pair);
  write_new_file(path, format_key_file(pair, false), kPublicFileMode);
}

void write_secret_key_file(const fs::path& path, const KeyPair& pair) {
  check_pair(pair);
  write_new_file(path, format_key_file(pair, true), kSecretFileMode);
}

void write_key_pair(const fs::path& dir, const KeyPair& pair) {
  check_pair(pair);
  std::error_code status_error;
  if (!fs::is_directory(dir, status_error)) {
    throw KeyError("key directory " + dir.string() +
                   " does not exist; create it first");
  }

  // Check both files first so that a refusal leaves no half-written pair.
  const fs::path public_path = public_key_path(dir, pair.name);
  const fs::path secret_path = secret_key_path(dir, pair.name);
  for (const fs::path& path : {public_path, secret_path}) {
    if (fs::exists(fs::symlink_status(path, status_error))) {
      throw KeyError(already_exists_message(path));
    }
  }

  write_public_key_file(public_path, pair);
  try {
    write_secret_key_file(secret_path, pair);
  } catch (const KeyError&) {
    ::unlink(public_path.c_str());
    throw;
  }
}

KeyPair load_secret_key_file(const fs::path& path) {
  const KeyFileSections sections = parse_key_text(path, read_key_file(path, true));

  KeyPair pair;
  pair.name = key_name(path, sections);
  pair.public_z85 = require_curve_key(path, sections, "public-key");
  pair.secret_z85 = require_curve_key(path, sections, "secret-key");
  if (derive_public_key(pair.secret_z85) != pair.public_z85) {
    throw KeyError("secret key file " + path.string() +
                   ": its public-key does not belong to its secret-key; the "
                   "file is corrupt, regenerate the pair with mkmap-keygen");
  }
  return pair;
}

std::string load_public_key_file(const fs::path& path) {
  return load_named_public_key(path).public_z85;
}

NamedPublicKey load_named_public_key(const fs::path& path) {
  const KeyFileSections sections = parse_key_text(path, read_key_file(path, false));
  if (sections.curve.count("secret-key") != 0) {
    throw KeyError("public key file " + path.string() +
                   " contains a secret-key; it is a secret key file: copy "
                   "NAME" + std::string(kPublicKeySuffix) +
                   " instead, and move this file somewhere private");
  }

  NamedPublicKey key;
  key.name = key_name(path, sections);
  key.public_z85 = require_curve_key(path, sections, "public-key");
  return key;
}

}  // namespace mkmap::transport
