#pragma once
// Solving one grid point of a scan: set its conditions, solve, summarise.

#include <cstdint>
#include <string>
#include <vector>

#include "kinetics/steady_state.hpp"
#include "model/model.hpp"

namespace mkmap {

/// A grid point: its flat index iy * nx + ix and its axis values
/// [p/p0 or K].
struct GridPoint {
  std::int64_t index = 0;
  double x = 0.0;
  double y = 0.0;
};

/// The outcome of one grid point as a worker sends it to the sink.
struct PointResult {
  std::int64_t index = 0;
  PointStatus status = PointStatus::failed;
  std::string reason;
  /// Turnover frequency of the model's product [1/s per site].
  double tof = 0.0;
  /// Adsorbates in Model::adsorbates order, then free sites per site type.
  std::vector<double> coverages;
  /// Relative residual of the accepted (or last) state [dimensionless].
  double residual = 0.0;
  /// Largest relative deviation of a site type's sum from its total.
  double site_sum_error = 0.0;
  /// Largest net gas production of an element relative to its gross gas
  /// flux [dimensionless].
  double balance_error = 0.0;
  int iterations = 0;
  /// Wall time of the solve [s].
  double solve_time_s = 0.0;
  Precision precision = Precision::double_precision;
  /// Product TOF of every distinct stable steady state found, ascending
  /// [1/s per site]; its size is the number of stable steady states.
  std::vector<double> branch_tofs;
  /// Net rate rf - rr of every step at the reported state [1/s].
  std::vector<double> net_rates;
  /// rr / rf of every step at the reported state; NaN when rf = 0.
  std::vector<double> reversibilities;
};

/// Returns every grid point of model's scan, row by row (x varies fastest).
std::vector<GridPoint> grid_points(const Model& model);

/// Solves one point of model's scan. Never throws.
[[nodiscard]] PointResult solve_point(const Model& model, const GridPoint& point,
                                      const SolverOptions& options = {}) noexcept;

}  // namespace mkmap
