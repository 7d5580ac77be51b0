#include "kinetics/steady_state.hpp"

#include <algorithm>
#include <boost/numeric/odeint.hpp>
#include <chrono>
#include <cmath>
#include <exception>
#include <new>
#include <optional>
#include <sstream>

#include "kinetics/network.hpp"

namespace mkmap {
namespace {

namespace odeint = boost::numeric::odeint;
using OdeVector = boost::numeric::ublas::vector<double>;
using OdeMatrix = boost::numeric::ublas::matrix<double>;

// Integrator error control. Coverages below the absolute tolerance are left
// to Newton, which works in logarithms and resolves them to full precision.
constexpr double kIntegratorAbsTolerance = 1e-14;
constexpr double kIntegratorRelTolerance = 1e-8;
constexpr double kFirstStep_s = 1e-12;
// Checkpoints where the relative residual is tested: 1e-6 s, then x10.
constexpr double kFirstCheckpoint_s = 1e-6;
constexpr double kCheckpointFactor = 10.0;
// Smallest coverage Newton starts from, relative to the site total; the
// integrator may leave tiny negative values below its absolute tolerance.
constexpr double kStartFloor = 1e-30;
// Largest Newton step in ln(coverage): a factor of about 150.
constexpr double kMaxLogStep = 5.0;
constexpr int kMaxLineSearchHalvings = 30;
// Coverage may exceed its site total by this relative amount (rounding).
constexpr double kBoundSlack = 1e-10;
// Eigenvalues with a real part below this fraction of the largest modulus
// count as zero; rounding in the eigen-solver is of that order.
constexpr double kStabilityRelTolerance = 1e-10;

Eigen::VectorXd to_eigen(const OdeVector& v) {
  Eigen::VectorXd out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = v[i];
  return out;
}

// Relative residual of every adsorbate and the largest one.
double relative_residual(const Network& network, const Eigen::VectorXd& x) {
  Eigen::VectorXd forward, reverse, dxdt, flux;
  network.rates(x, forward, reverse);
  network.derivative(x, dxdt);
  network.gross_flux(forward, reverse, flux);
  double worst = 0.0;
  for (int a = 0; a < network.adsorbate_count(); ++a) {
    const double scale = flux[a] > 0.0 ? flux[a] : 1.0;
    worst = std::max(worst, std::abs(dxdt[a]) / scale);
  }
  return worst;
}

// Scaled Newton residual in log variables: relative rate residual for each
// adsorbate, relative site-balance error in each free-site row.
struct NewtonSystem {
  Eigen::VectorXd residual;
  Eigen::MatrixXd jacobian;
};

NewtonSystem newton_system(const Network& network, const Eigen::VectorXd& x) {
  const int n = network.size();
  Eigen::VectorXd forward, reverse, dxdt, flux;
  network.rates(x, forward, reverse);
  network.derivative(x, dxdt);
  network.gross_flux(forward, reverse, flux);

  NewtonSystem system;
  system.residual.resize(n);
  network.log_jacobian(forward, reverse, system.jacobian);

  for (int a = 0; a < network.adsorbate_count(); ++a) {
    const double scale = flux[a] > 0.0 ? flux[a] : 1.0;
    system.residual[a] = dxdt[a] / scale;
    system.jacobian.row(a) /= scale;
  }
  for (int s = 0; s < network.site_type_count(); ++s) {
    const int row = network.free_site_index(s);
    const double total = network.site_total(s);
    double occupied = -total;
    system.jacobian.row(row).setZero();
    for (int i = 0; i < n; ++i) {
      if (network.site_of(i) != s) continue;
      occupied += network.site_count_of(i) * x[i];
      system.jacobian(row, i) = network.site_count_of(i) * x[i] / total;
    }
    system.residual[row] = occupied / total;
  }
  return system;
}

double max_norm(const Eigen::VectorXd& v) { return v.cwiseAbs().maxCoeff(); }

struct NewtonOutcome {
  bool converged = false;
  Eigen::VectorXd x;
  int iterations = 0;
  std::string reason;
};

// Damped Newton on ln(coverage), which keeps every coverage positive and
// treats 1e-30 and 1 with the same relative precision.
NewtonOutcome newton(const Network& network, Eigen::VectorXd x, const SolverOptions& options) {
  NewtonOutcome outcome;
  for (int i = 0; i < network.size(); ++i) {
    const double floor = kStartFloor * network.site_total(network.site_of(i));
    x[i] = std::max(x[i], floor);
  }
  Eigen::VectorXd u = x.array().log();
  NewtonSystem system = newton_system(network, x);
  double merit = system.residual.norm();

  for (int iteration = 1; iteration <= options.max_newton_iterations; ++iteration) {
    outcome.iterations = iteration;
    const Eigen::VectorXd step = system.jacobian.fullPivLu().solve(-system.residual);
    if (!step.allFinite()) {
      outcome.reason = "Newton step is not finite (singular Jacobian)";
      break;
    }

    double lambda = std::min(1.0, kMaxLogStep / std::max(max_norm(step), 1e-300));
    bool improved = false;
    for (int halving = 0; halving <= kMaxLineSearchHalvings; ++halving, lambda *= 0.5) {
      const Eigen::VectorXd trial_u = u + lambda * step;
      const Eigen::VectorXd trial_x = trial_u.array().exp();
      NewtonSystem trial = newton_system(network, trial_x);
      const double trial_merit = trial.residual.norm();
      if (std::isfinite(trial_merit) && trial_merit < merit) {
        u = trial_u;
        x = trial_x;
        system = std::move(trial);
        merit = trial_merit;
        improved = true;
        break;
      }
    }

    if (max_norm(system.residual) <= options.newton_target) {
      outcome.converged = true;
      break;
    }
    if (!improved) {
      // Rounding floor: no step reduces the residual any further.
      outcome.converged = max_norm(system.residual) <= options.residual_tolerance;
      if (!outcome.converged) outcome.reason = "Newton line search stalled";
      break;
    }
  }
  if (!outcome.converged && outcome.reason.empty()) {
    outcome.reason = "Newton did not converge in " +
                     std::to_string(options.max_newton_iterations) + " iterations";
  }
  outcome.x = x;
  return outcome;
}

// Largest real part of the eigenvalues of d(ln theta_a/dt)/d(ln theta_b) on
// the adsorbates, with free sites eliminated through the site balance. This
// matrix is similar to the Jacobian on the conserved subspace, so it has
// the same eigenvalues, and its scaling suits the eigen-solver.
double max_eigenvalue_real(const Network& network, const Eigen::VectorXd& x,
                           double* max_modulus) {
  const int n = network.adsorbate_count();
  *max_modulus = 0.0;
  if (n == 0) return -1.0;

  Eigen::VectorXd forward, reverse;
  Eigen::MatrixXd J;
  network.rates(x, forward, reverse);
  network.log_jacobian(forward, reverse, J);

  Eigen::MatrixXd reduced(n, n);
  for (int a = 0; a < n; ++a) {
    for (int b = 0; b < n; ++b) {
      const int free_site = network.free_site_index(network.site_of(b));
      const double through_free_site =
          network.site_count_of(b) * x[b] * J(a, free_site) / x[free_site];
      reduced(a, b) = (J(a, b) - through_free_site) / x[a];
    }
  }
  const Eigen::VectorXcd eigenvalues = Eigen::EigenSolver<Eigen::MatrixXd>(reduced, false).eigenvalues();
  double largest = -std::numeric_limits<double>::infinity();
  for (const auto& value : eigenvalues) {
    largest = std::max(largest, value.real());
    *max_modulus = std::max(*max_modulus, std::abs(value));
  }
  return largest;
}

// Checks a Newton root against the acceptance rules; empty when accepted.
std::optional<std::string> check_root(const Network& network, const Eigen::VectorXd& x,
                                      const SolverOptions& options, SteadyState& result) {
  for (int i = 0; i < network.size(); ++i) {
    const double total = network.site_total(network.site_of(i));
    if (!(x[i] >= 0.0) || x[i] > total * (1.0 + kBoundSlack)) {
      std::ostringstream message;
      message << "coverage " << i << " = " << x[i] << " is outside [0, " << total << "]";
      return message.str();
    }
  }

  result.residual = relative_residual(network, x);
  if (!(result.residual <= options.residual_tolerance)) {
    std::ostringstream message;
    message << "relative residual " << result.residual << " above tolerance "
            << options.residual_tolerance;
    return message.str();
  }

  double max_modulus = 0.0;
  result.max_eigenvalue_real = max_eigenvalue_real(network, x, &max_modulus);
  if (result.max_eigenvalue_real > kStabilityRelTolerance * max_modulus) {
    std::ostringstream message;
    message << "unstable steady state (eigenvalue with real part "
            << result.max_eigenvalue_real << " 1/s)";
    return message.str();
  }
  return std::nullopt;
}

// Stiff integration of every coverage with a Rosenbrock method.
class Integrator {
 public:
  explicit Integrator(const Network& network)
      : network_(network),
        stepper_(kIntegratorAbsTolerance, kIntegratorRelTolerance),
        state_(network.size()) {
    const Eigen::VectorXd clean = network.clean_surface();
    for (int i = 0; i < network.size(); ++i) state_[i] = clean[i];
  }

  /// Advances to time end [s]; false when the step budget ran out.
  bool advance_to(double end, int& steps, int max_steps) {
    auto system = [this](const OdeVector& x, OdeVector& dxdt, double) {
      Eigen::VectorXd derivative;
      network_.derivative(to_eigen(x), derivative);
      for (int i = 0; i < network_.size(); ++i) dxdt[i] = derivative[i];
    };
    auto jacobian = [this](const OdeVector& x, OdeMatrix& J, double, OdeVector& dfdt) {
      Eigen::MatrixXd jac;
      network_.jacobian(to_eigen(x), jac);
      for (int i = 0; i < network_.size(); ++i) {
        dfdt[i] = 0.0;
        for (int k = 0; k < network_.size(); ++k) J(i, k) = jac(i, k);
      }
    };
    auto pair = std::make_pair(system, jacobian);

    while (time_ < end) {
      if (steps >= max_steps) return false;
      double dt = std::min(dt_, end - time_);
      const bool truncated = dt < dt_;
      const auto outcome = stepper_.try_step(pair, state_, time_, dt);
      if (outcome == odeint::success && truncated) {
        time_ = end;  // land exactly on the checkpoint; keep the longer step size
      } else {
        dt_ = dt;
      }
      ++steps;
    }
    return true;
  }

  Eigen::VectorXd state() const { return to_eigen(state_); }
  double time() const { return time_; }

 private:
  const Network& network_;
  odeint::rosenbrock4_controller<odeint::rosenbrock4<double>> stepper_;
  OdeVector state_;
  double time_ = 0.0;
  double dt_ = kFirstStep_s;
};

SteadyState solve(const Model& model, const SolverOptions& options) {
  const Network network(model);
  SteadyState result;
  Integrator integrator(network);
  std::string last_reason = "integration reached its time limit";

  for (double checkpoint = kFirstCheckpoint_s; checkpoint <= options.max_time_s * 1.000001;
       checkpoint *= kCheckpointFactor) {
    if (!integrator.advance_to(checkpoint, result.integrator_steps,
                               options.max_integrator_steps)) {
      last_reason = "integrator step limit reached at t = " + std::to_string(integrator.time()) + " s";
      break;
    }
    const Eigen::VectorXd x = integrator.state();
    if (!x.allFinite()) {
      last_reason = "integration produced a non-finite coverage";
      break;
    }
    const bool last_checkpoint = checkpoint * kCheckpointFactor > options.max_time_s * 1.000001;
    if (relative_residual(network, x) > options.newton_start_residual && !last_checkpoint) {
      continue;
    }

    NewtonOutcome outcome = newton(network, x, options);
    result.newton_iterations += outcome.iterations;
    result.integrated_time_s = integrator.time();
    if (!outcome.converged) {
      last_reason = outcome.reason;
      continue;
    }
    if (auto rejection = check_root(network, outcome.x, options, result)) {
      last_reason = *rejection;
      continue;
    }

    Eigen::VectorXd forward, reverse;
    network.rates(outcome.x, forward, reverse);
    result.status = PointStatus::converged;
    result.coverages = outcome.x;
    result.tof = network.gas_production(model.product, forward, reverse);
    result.reason.clear();
    return result;
  }

  result.status = PointStatus::failed;
  result.reason = last_reason;
  result.coverages = integrator.state();
  result.integrated_time_s = integrator.time();
  return result;
}

}  // namespace

const char* to_string(PointStatus status) noexcept {
  return status == PointStatus::converged ? "converged" : "failed";
}

SteadyState solve_steady_state(const Model& model, const SolverOptions& options) noexcept {
  const auto start = std::chrono::steady_clock::now();
  SteadyState result;
  try {
    result = solve(model, options);
  } catch (const std::bad_alloc&) {
    result = SteadyState{};
    result.reason = "out of memory while solving";
  } catch (const std::exception& error) {
    result = SteadyState{};
    result.reason = std::string("solver error: ") + error.what();
  } catch (...) {
    result = SteadyState{};
    result.reason = "solver error of an unknown type";
  }
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  result.solve_time_s = elapsed.count();
  return result;
}

}  // namespace mkmap
