#pragma once
// A run: the model with its resolved scan, split into chunks of grid points.

#include <cstdint>
#include <string>
#include <vector>

#include "kinetics/point_solver.hpp"
#include "model/model.hpp"
#include "protocol/messages.hpp"

namespace mkmap {

/// Returns value with 17 significant digits, which reads back as the same
/// double.
std::string format_number(double value);

/// Returns the axis as a spec "VARIABLE:FROM:TO:POINTS:lin|log" that
/// parse_axis_override reads back to the same axis (17 significant digits).
std::string format_axis_spec(const ScanAxis& axis, const Model& model);

/// Largest grid a run may have [points]; a grid point costs about 24 bytes
/// in every process and a row of map.csv in the sink.
constexpr std::int64_t kMaxGridPoints = 10'000'000;

/// Returns the run id of a map: 16 hex digits of a hash (64-bit FNV-1a) of
/// the model text, both axes and the chunk size. A ventilator restarted
/// with the same inputs gets the same id, so a sink that journals the run
/// carries on with it.
std::string derive_run_id(const Model& model, std::int64_t chunk_size);

class RunPlan {
 public:
  /// Builds a plan from a model whose scan is already final.
  /// Throws: std::invalid_argument when chunk_size is below 1 or above
  /// protocol::kMaxChunkPoints, or when the grid exceeds kMaxGridPoints.
  RunPlan(std::string run_id, Model model, std::int64_t chunk_size);

  /// Rebuilds the plan a ventilator announced.
  /// Throws: ModelError when the model text or an axis is invalid.
  static RunPlan from_message(const protocol::Run& run);

  /// Returns the run announcement for the sink.
  protocol::Run to_message() const;

  /// Returns the self-contained task for a chunk.
  protocol::Task make_task(std::int64_t chunk_id, std::int32_t attempt) const;

  const std::string& run_id() const noexcept { return run_id_; }
  const Model& model() const noexcept { return model_; }
  std::int64_t chunk_size() const noexcept { return chunk_size_; }
  std::int64_t total_points() const noexcept { return static_cast<std::int64_t>(points_.size()); }
  std::int64_t chunk_count() const noexcept;

  /// First point index of a chunk and its number of points.
  std::int64_t chunk_begin(std::int64_t chunk_id) const noexcept;
  std::int64_t chunk_length(std::int64_t chunk_id) const noexcept;

  const std::vector<GridPoint>& points() const noexcept { return points_; }

 private:
  std::string run_id_;
  Model model_;
  std::int64_t chunk_size_;
  std::vector<GridPoint> points_;
};

/// Parses a task's model and applies its axes; the worker's view of a run.
/// Throws: ModelError when the model text or an axis is invalid.
Model model_from_task(const protocol::Task& task);

}  // namespace mkmap
