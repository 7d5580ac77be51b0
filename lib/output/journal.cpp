#include "output/journal.hpp"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace mkmap {
namespace {

// Records are prefixed by their length as 4 bytes, least significant first.
constexpr std::size_t kLengthBytes = 4;

[[noreturn]] void throw_io_error(const std::string& what, const std::string& path) {
  throw std::runtime_error("cannot " + what + " the journal " + path + ": " +
                           std::strerror(errno));
}

}  // namespace

Journal::Journal(std::string path) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) throw_io_error("open", path_);
}

Journal::~Journal() noexcept {
  if (fd_ >= 0) {
    ::fsync(fd_);
    ::close(fd_);
  }
}

void Journal::append(const std::string& record) {
  const auto length = static_cast<std::uint32_t>(record.size());
  std::string bytes(kLengthBytes, '\0');
  for (std::size_t i = 0; i < kLengthBytes; ++i) {
    bytes[i] = static_cast<char>((length >> (8 * i)) & 0xFF);
  }
  bytes += record;

  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd_, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_io_error("append to", path_);
    }
    written += static_cast<std::size_t>(n);
  }
  dirty_ = true;
}

void Journal::flush() {
  if (!dirty_) return;
  if (::fsync(fd_) != 0) throw_io_error("flush", path_);
  dirty_ = false;
}

std::optional<JournalContents> Journal::read(const std::string& path) {
  std::error_code error;
  if (!std::filesystem::exists(path, error)) return std::nullopt;
  std::ifstream file(path, std::ios::binary);
  if (!file) throw_io_error("read", path);
  const std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());

  JournalContents contents;
  std::size_t offset = 0;
  while (offset < bytes.size()) {
    if (bytes.size() - offset < kLengthBytes) {
      contents.truncated_tail = true;
      break;
    }
    std::uint32_t length = 0;
    for (std::size_t i = 0; i < kLengthBytes; ++i) {
      length |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[offset + i])) << (8 * i);
    }
    offset += kLengthBytes;
    if (bytes.size() - offset < length) {
      contents.truncated_tail = true;
      break;
    }
    contents.records.push_back(bytes.substr(offset, length));
    offset += length;
  }
  return contents;
}

}  // namespace mkmap
