#pragma once
// Collects point results into the maps and writes map.csv and map.json.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "protocol/messages.hpp"
#include "protocol/run_plan.hpp"

namespace mkmap {

/// Facts about the run that map.json records beside the maps.
struct RunSummary {
  double wall_time_s = 0.0;       ///< first result to completion [s]
  std::int64_t workers_seen = 0;
  std::int64_t duplicate_chunks = 0;
  std::int64_t rejected_messages = 0;
};

class MapAssembler {
 public:
  explicit MapAssembler(const RunPlan& plan);

  /// Checks a result against the plan: run id, chunk id in range, exactly
  /// the chunk's point indices, one coverage per surface unknown. Returns
  /// the reason it is invalid, or nothing when it is valid.
  std::optional<std::string> validate(const protocol::Result& result) const;

  /// Records a valid result. Returns false when the chunk was already
  /// accepted (a duplicate), in which case nothing changes.
  bool accept(const protocol::Result& result);

  /// Records every point of a chunk the ventilator gave up as failed with
  /// reason. Returns false when the chunk was already done or is out of
  /// range, in which case nothing changes.
  bool give_up(std::int64_t chunk_id, const std::string& reason);

  /// Returns the done chunks (accepted or given up) as ascending ranges.
  std::vector<protocol::ChunkRange> done_chunk_ranges() const;

  std::int64_t done_points() const noexcept { return done_points_; }
  std::int64_t done_chunks() const noexcept { return static_cast<std::int64_t>(accepted_.size()); }
  bool complete() const noexcept { return done_points_ == plan_.total_points(); }
  std::int64_t converged_points() const noexcept { return converged_points_; }

  /// Returns the column names of map.csv.
  std::vector<std::string> columns() const;

  /// Writes BASENAME.csv and BASENAME.json into folder, each through a
  /// temporary file renamed into place so readers never see a partial file.
  /// Throws: std::runtime_error naming the file that could not be written.
  void write(const std::string& folder, const RunSummary& summary,
             const std::string& basename) const;

 private:
  std::string csv_text() const;
  std::string json_text(const RunSummary& summary) const;

  const RunPlan& plan_;
  std::vector<std::optional<PointResult>> points_;
  std::map<std::int64_t, bool> accepted_;
  std::int64_t done_points_ = 0;
  std::int64_t converged_points_ = 0;
  std::size_t coverage_count_ = 0;
};

/// Writes text to path through path + ".tmp", flushed to disk, then renamed.
/// Throws: std::runtime_error naming the path and the system error, after
/// removing the temporary file.
void write_file_atomically(const std::string& path, const std::string& text);

}  // namespace mkmap
