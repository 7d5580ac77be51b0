#pragma once
// The sink's journal: the run announcement and every accepted message,
// appended as length-prefixed records, so that a restarted sink replays it
// and carries on with the run.

#include <optional>
#include <string>
#include <vector>

namespace mkmap {

/// The records read back from a journal file.
struct JournalContents {
  std::vector<std::string> records;
  /// True when the last record was cut short (the sink died mid-write);
  /// that record is left out.
  bool truncated_tail = false;
};

class Journal {
 public:
  /// Opens path for appending, creating it when missing.
  /// Throws: std::runtime_error naming the path and the system error.
  explicit Journal(std::string path);
  ~Journal() noexcept;
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  /// Appends one record; it reaches the disk at the next flush().
  /// Throws: std::runtime_error naming the path and the system error.
  void append(const std::string& record);

  /// Forces appended records to disk.
  /// Throws: std::runtime_error naming the path and the system error.
  void flush();

  const std::string& path() const noexcept { return path_; }

  /// Reads a journal; nothing when the file does not exist.
  /// Throws: std::runtime_error when it exists but cannot be read.
  static std::optional<JournalContents> read(const std::string& path);

 private:
  std::string path_;
  int fd_ = -1;
  bool dirty_ = false;
};

}  // namespace mkmap
