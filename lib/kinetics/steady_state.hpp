#pragma once
// The steady state of one grid point: stiff integration from a clean
// surface, then damped Newton refinement, then acceptance checks.

#include <Eigen/Dense>
#include <string>

#include "model/model.hpp"

namespace mkmap {

enum class PointStatus { converged, failed };

/// Returns "converged" or "failed".
const char* to_string(PointStatus status) noexcept;

struct SolverOptions {
  /// Accept a root only when, for every adsorbate, |dtheta/dt| divided by
  /// the gross flux through it is at most this [dimensionless].
  double residual_tolerance = 1e-8;
  /// Newton stops improving once the relative residual is this small.
  double newton_target = 1e-13;
  /// Try Newton from the integrator state once its relative residual is
  /// below this [dimensionless].
  double newton_start_residual = 1e-3;
  /// Give up integrating at this model time [s].
  double max_time_s = 1e12;
  /// Bound on accepted plus rejected integrator steps, so every point ends.
  int max_integrator_steps = 200000;
  int max_newton_iterations = 200;
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
  /// Largest |dtheta/dt| / gross flux over adsorbates [dimensionless].
  double residual = 0.0;
  /// Largest real part of the Jacobian's eigenvalues on the conserved
  /// subspace [1/s]; negative for a stable steady state.
  double max_eigenvalue_real = 0.0;
  int newton_iterations = 0;
  int integrator_steps = 0;
  /// Model time integrated before the accepted root [s].
  double integrated_time_s = 0.0;
  /// Wall time of the solve [s].
  double solve_time_s = 0.0;
};

/// Solves the steady state of model at its own temperature and pressures.
/// Never throws: every failure, including an exception inside, becomes a
/// failed SteadyState with a reason.
[[nodiscard]] SteadyState solve_steady_state(const Model& model,
                                             const SolverOptions& options = {}) noexcept;

}  // namespace mkmap
