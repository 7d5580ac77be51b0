#include "kinetics/point_solver.hpp"

#include <exception>

#include "model/scan.hpp"

namespace mkmap {

std::vector<GridPoint> grid_points(const Model& model) {
  const std::vector<double> xs = axis_values(model.scan[0]);
  const std::vector<double> ys = axis_values(model.scan[1]);
  std::vector<GridPoint> points;
  points.reserve(xs.size() * ys.size());
  for (std::size_t iy = 0; iy < ys.size(); ++iy) {
    for (std::size_t ix = 0; ix < xs.size(); ++ix) {
      points.push_back({static_cast<std::int64_t>(iy * xs.size() + ix), xs[ix], ys[iy]});
    }
  }
  return points;
}

PointResult solve_point(const Model& model, const GridPoint& point,
                        const SolverOptions& options) noexcept {
  PointResult result;
  result.index = point.index;
  try {
    Model conditions = model;
    apply_axis_value(conditions, model.scan[0], point.x);
    apply_axis_value(conditions, model.scan[1], point.y);

    const SteadyState state = solve_steady_state(conditions, options);
    result.status = state.status;
    result.reason = state.reason;
    result.tof = state.tof;
    result.coverages.assign(state.coverages.data(),
                            state.coverages.data() + state.coverages.size());
    result.residual = state.residual;
    result.site_sum_error = state.site_sum_error;
    result.balance_error = state.balance_error;
    result.iterations = state.newton_iterations;
    result.solve_time_s = state.solve_time_s;
    result.precision = state.precision;
    for (const SteadyBranch& branch : state.branches) result.branch_tofs.push_back(branch.tof);
    result.net_rates = state.net_rates;
    result.reversibilities = state.reversibilities;
  } catch (const std::exception& error) {
    result.status = PointStatus::failed;
    result.reason = std::string("cannot set point conditions: ") + error.what();
  } catch (...) {
    result.status = PointStatus::failed;
    result.reason = "unknown error while solving";
  }
  return result;
}

}  // namespace mkmap
