#pragma once
// The steady state of one grid point. Each start is integrated as a stiff
// system and refined with damped Newton in logarithmic coverages, in long
// double when double precision stalls. A root must pass checks on bounds,
// the relative residual, site sums, the gas balance and linear stability.

#include <Eigen/Dense>
#include <string>
#include <vector>

#include "model/model.hpp"

namespace mkmap {

enum class PointStatus { converged, failed };

/// Returns "converged" or "failed".
const char* to_string(PointStatus status) noexcept;

/// Floating-point type of the Newton iteration that produced a result.
enum class Precision { double_precision, extended_precision };

/// Returns "double" or "extended".
const char* to_string(Precision precision) noexcept;

/// Internal limits of the solver. The residual tolerance and the starts come
/// from the model's solver settings.
struct SolverOptions {
  /// Newton stops improving once the relative residual is this small.
  double newton_target = 1e-13;
  /// Newton target in long double.
  double extended_newton_target = 1e-16;
  /// Try Newton from the integrator state once its relative residual is
  /// below this [dimensionless].
  double newton_start_residual = 1e-3;
  /// Give up integrating at this model time [s].
  double max_time_s = 1e12;
  /// Bound on accepted plus rejected integrator steps per start, so every
  /// point ends.
  int max_integrator_steps = 200000;
  int max_newton_iterations = 200;
  /// Wall-time limit of one point over all its starts [s].
  double max_solve_time_s = 60.0;
};

/// One accepted, linearly stable steady state.
struct SteadyBranch {
  Eigen::VectorXd coverages;
  /// Net production rate of the model's product [1/s per site].
  double tof = 0.0;
};

/// The outcome of one point; a failure is a value with a reason.
struct SteadyState {
  PointStatus status = PointStatus::failed;
  std::string reason;
  /// Adsorbate coverages in Model::adsorbates order, then the free sites of
  /// each site type [dimensionless].
  Eigen::VectorXd coverages;
  /// Net production rate of the model's product [1/s per site].
  double tof = 0.0;
  /// Largest |dtheta/dt| / gross flux over the adsorbates that are solved
  /// for [dimensionless].
  double residual = 0.0;
  /// Largest |sum of occupied and free sites - total| / total over the site
  /// types [dimensionless].
  double site_sum_error = 0.0;
  /// Largest |net gas production of an element| divided by the gross gas
  /// flux of that element, over the elements [dimensionless].
  double balance_error = 0.0;
  /// Largest real part of the Jacobian's eigenvalues on the subspace that
  /// keeps the conservation laws [1/s]; negative for a stable steady state.
  double max_eigenvalue_real = 0.0;
  Precision precision = Precision::double_precision;
  /// Distinct stable steady states found over all starts.
  int stable_states = 0;
  /// Every distinct stable steady state, in increasing TOF.
  std::vector<SteadyBranch> branches;
  /// Net rate rf - rr of every step [1/s] at the reported state.
  std::vector<double> net_rates;
  /// Reversibility rr / rf of every step at the reported state; NaN when
  /// rf = 0.
  std::vector<double> reversibilities;
  /// Unknowns held at their initial value because no step changes them.
  std::vector<int> held;
  int newton_iterations = 0;
  int integrator_steps = 0;
  /// Model time integrated before the accepted root [s].
  double integrated_time_s = 0.0;
  /// Wall time of the solve [s].
  double solve_time_s = 0.0;
};

/// Returns the unknowns that the solver keeps at their initial values: those
/// that no step changes, and those that a conservation law pins at zero.
std::vector<int> held_unknowns(const Model& model);

/// Solves the steady state of model at its own temperature and pressures.
/// Never throws: every failure, including an exception inside, becomes a
/// failed SteadyState with a reason.
[[nodiscard]] SteadyState solve_steady_state(const Model& model,
                                             const SolverOptions& options = {}) noexcept;

}  // namespace mkmap
