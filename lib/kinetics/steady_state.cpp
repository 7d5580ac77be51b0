#include "kinetics/steady_state.hpp"

#include <algorithm>
#include <boost/numeric/odeint.hpp>
#include <chrono>
#include <cmath>
#include <exception>
#include <limits>
#include <map>
#include <new>
#include <optional>
#include <random>
#include <sstream>

#include "kinetics/network.hpp"

namespace mkmap {
namespace {

namespace odeint = boost::numeric::odeint;
using OdeVector = boost::numeric::ublas::vector<double>;
using OdeMatrix = boost::numeric::ublas::matrix<double>;
using Clock = std::chrono::steady_clock;

// Error control of the linear integrator. Coverages below the absolute
// tolerance are left to Newton.
constexpr double kIntegratorAbsTolerance = 1e-14;
constexpr double kIntegratorRelTolerance = 1e-8;
// Error control of the logarithmic integrator: an absolute error of 1e-8 in
// ln(x) is a relative error of 1e-8 in x.
constexpr double kLogAbsTolerance = 1e-8;
constexpr double kLogRelTolerance = 0.0;
// Start value of a coverage that starts at zero, relative to its site total.
constexpr double kIntegrationFloor = 1e-40;
constexpr double kFirstStep_s = 1e-12;
// Checkpoints where the relative residual is tested: 1e-6 s, then x10.
constexpr double kFirstCheckpoint_s = 1e-6;
constexpr double kCheckpointFactor = 10.0;
// Coverage Newton starts from where the integrator left zero, relative to
// the site total.
constexpr double kStartFloor = 1e-30;
// Largest Newton step in ln(coverage): a factor of about 150.
constexpr double kMaxLogStep = 5.0;
constexpr int kMaxLineSearchHalvings = 30;
// Coverage may exceed its site total by this relative amount (rounding).
constexpr double kBoundSlack = 1e-10;
// Largest accepted relative site-sum error.
constexpr double kSiteSumTolerance = 1e-10;
// The gas balance error may exceed the residual tolerance by this factor:
// surface fluxes can be larger than gas fluxes, so the balance of a root
// that meets the residual tolerance is less tight.
constexpr double kBalanceToleranceFactor = 100.0;
// Eigenvalues with a real part below this fraction of the largest modulus
// count as zero; rounding in the eigen-solver is of that order.
constexpr double kStabilityRelTolerance = 1e-10;
// Two stable roots are the same steady state when no coverage differs by
// more than this in ln(coverage).
constexpr double kDistinctLogDistance = 1e-3;
// Coefficients of a conservation law below this (relative to its largest)
// count as zero, and so do singular values below it.
constexpr double kLawTolerance = 1e-9;

Eigen::VectorXd to_eigen(const OdeVector& v) {
  Eigen::VectorXd out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = v[i];
  return out;
}

// Conservation structure of a network: the unknowns solved for, the ones
// held at their start value, and the linear laws the solved ones obey. Site
// balances come first. Further laws arise when steps only move species
// among themselves.
struct Conservation {
  std::vector<int> solved;
  std::vector<int> held;
  /// Rows are laws over the solved unknowns: laws * x[solved] is constant.
  Eigen::MatrixXd laws;
  /// For each law, the position in solved whose rate row it replaces.
  std::vector<int> replaced;
  /// Laws other than the site balances.
  int extra_laws = 0;
};

int matrix_rank(const Eigen::MatrixXd& m) {
  if (m.rows() == 0 || m.cols() == 0) return 0;
  Eigen::JacobiSVD<Eigen::MatrixXd> svd(m);
  const Eigen::VectorXd& values = svd.singularValues();
  int rank = 0;
  for (int i = 0; i < values.size(); ++i) {
    if (values[i] > kLawTolerance * values[0]) ++rank;
  }
  return rank;
}

Eigen::MatrixXd append_row(const Eigen::MatrixXd& m, const Eigen::VectorXd& row) {
  Eigen::MatrixXd out(m.rows() + 1, row.size());
  if (m.rows() > 0) out.topRows(m.rows()) = m;
  out.row(m.rows()) = row.transpose();
  return out;
}

// Finds the conservation structure of network for a start state. An unknown
// that no step changes is held. So is every unknown of a one-signed law
// whose value at the start is zero, because such species can never appear.
Conservation analyze_conservation(const Network& network, const Eigen::VectorXd& start) {
  const Eigen::MatrixXd N = network.stoichiometry();
  std::vector<bool> held(network.size(), false);
  for (int i = 0; i < network.size(); ++i) held[i] = N.row(i).cwiseAbs().maxCoeff() == 0.0;

  for (;;) {
    Conservation c;
    for (int i = 0; i < network.size(); ++i) (held[i] ? c.held : c.solved).push_back(i);
    const int n = static_cast<int>(c.solved.size());
    Eigen::MatrixXd Ns(n, N.cols());
    for (int p = 0; p < n; ++p) Ns.row(p) = N.row(c.solved[p]);

    c.laws.resize(0, n);
    for (int s = 0; s < network.site_type_count(); ++s) {
      Eigen::VectorXd law = Eigen::VectorXd::Zero(n);
      for (int p = 0; p < n; ++p) {
        if (network.site_of(c.solved[p]) == s) law[p] = network.site_count_of(c.solved[p]);
      }
      if (law.cwiseAbs().maxCoeff() > 0.0) c.laws = append_row(c.laws, law);
    }
    const int site_laws = static_cast<int>(c.laws.rows());

    // Every law lies in the null space of Ns^T. Keep the ones the site
    // balances do not span.
    if (n > 0) {
      Eigen::JacobiSVD<Eigen::MatrixXd> svd(Ns.transpose(), Eigen::ComputeFullV);
      const Eigen::VectorXd& values = svd.singularValues();
      const double largest = values.size() > 0 ? values[0] : 0.0;
      int rank = 0;
      for (int i = 0; i < values.size(); ++i) {
        if (values[i] > kLawTolerance * std::max(largest, 1e-300)) ++rank;
      }
      for (int k = rank; k < n; ++k) {
        // Scaled to a largest coefficient of 1, with rounding noise zeroed
        // and the sign that makes a one-signed law non-negative.
        Eigen::VectorXd law = svd.matrixV().col(k);
        law /= law.cwiseAbs().maxCoeff();
        for (int p = 0; p < n; ++p) {
          if (std::abs(law[p]) < kLawTolerance) law[p] = 0.0;
        }
        if (law.maxCoeff() <= 0.0) law = -law;
        const Eigen::MatrixXd trial = append_row(c.laws, law);
        if (matrix_rank(trial) > c.laws.rows()) c.laws = trial;
      }
    }
    c.extra_laws = static_cast<int>(c.laws.rows()) - site_laws;

    // A one-signed extra law with value zero at the start pins its species
    // at zero: hold them and analyse again.
    bool changed = false;
    for (int k = site_laws; k < c.laws.rows(); ++k) {
      Eigen::VectorXd law = c.laws.row(k).transpose();
      law /= law.cwiseAbs().maxCoeff();
      if (law.minCoeff() < -kLawTolerance) law = -law;
      if (law.minCoeff() < -kLawTolerance) continue;
      double value = 0.0;
      for (int p = 0; p < n; ++p) value += law[p] * start[c.solved[p]];
      if (value > 0.0) continue;
      for (int p = 0; p < n; ++p) {
        if (law[p] > kLawTolerance) {
          held[c.solved[p]] = true;
          changed = true;
        }
      }
    }
    if (changed) continue;

    // Each law replaces the rate row of one solved unknown: the free site
    // for a site balance when possible, else the unknown with the largest
    // coefficient that keeps the replaced columns independent.
    Eigen::MatrixXd chosen_columns(c.laws.rows(), 0);
    for (int k = 0; k < c.laws.rows(); ++k) {
      std::vector<int> order(n);
      for (int p = 0; p < n; ++p) order[p] = p;
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
        const bool a_free = c.solved[a] >= network.adsorbate_count();
        const bool b_free = c.solved[b] >= network.adsorbate_count();
        if (k < site_laws && a_free != b_free) return a_free;
        return std::abs(c.laws(k, a)) > std::abs(c.laws(k, b));
      });
      for (int p : order) {
        if (std::abs(c.laws(k, p)) <= kLawTolerance * c.laws.row(k).cwiseAbs().maxCoeff()) break;
        if (std::find(c.replaced.begin(), c.replaced.end(), p) != c.replaced.end()) continue;
        Eigen::MatrixXd trial(c.laws.rows(), chosen_columns.cols() + 1);
        trial << chosen_columns, c.laws.col(p);
        if (matrix_rank(trial.topRows(k + 1)) == k + 1) {
          chosen_columns = trial;
          c.replaced.push_back(p);
          break;
        }
      }
    }
    return c;
  }
}

// Relative residual, site-sum and gas-balance errors of a state.
struct Checks {
  double residual = 0.0;
  double site_sum_error = 0.0;
  double balance_error = 0.0;
};

template <typename Scalar>
Scalar relative_residual(const Network& network, const Conservation& c,
                         const Vector<Scalar>& x) {
  Vector<Scalar> forward, reverse, dxdt, flux;
  network.rates(x, forward, reverse);
  network.derivative(x, dxdt);
  network.gross_flux(forward, reverse, flux);
  Scalar worst = 0;
  for (int i : c.solved) {
    if (i >= network.adsorbate_count()) continue;
    const Scalar scale = flux[i] > Scalar(0) ? flux[i] : Scalar(1);
    worst = std::max(worst, Scalar(std::abs(dxdt[i]) / scale));
  }
  return worst;
}

Checks compute_checks(const Model& model, const Network& network, const Conservation& c,
                      const Eigen::VectorXd& x) {
  Checks checks;
  checks.residual = relative_residual<double>(network, c, x);

  std::vector<double> occupied(network.site_type_count(), 0.0);
  for (int i = 0; i < network.size(); ++i) {
    occupied[network.site_of(i)] += network.site_count_of(i) * x[i];
  }
  for (int s = 0; s < network.site_type_count(); ++s) {
    const double total = network.site_total(s);
    checks.site_sum_error = std::max(checks.site_sum_error, std::abs(occupied[s] - total) / total);
  }

  // Per element: net gas production must vanish at a steady state.
  Eigen::VectorXd forward, reverse;
  network.rates(x, forward, reverse);
  std::map<std::string, std::pair<double, double>> elements;  // net, gross
  for (int j = 0; j < network.step_count(); ++j) {
    const Step& step = model.steps[j];
    for (const auto* state : {&step.initial, &step.final}) {
      const double sign = state == &step.initial ? -1.0 : 1.0;
      for (const Term& term : *state) {
        if (term.kind != TermKind::gas) continue;
        for (const auto& [element, count] : model.gases[term.index].elements) {
          auto& [net, gross] = elements[element];
          net += sign * term.coefficient * count * (forward[j] - reverse[j]);
          gross += term.coefficient * count * (forward[j] + reverse[j]);
        }
      }
    }
  }
  for (const auto& [element, sums] : elements) {
    if (sums.second > 0.0) {
      checks.balance_error = std::max(checks.balance_error, std::abs(sums.first) / sums.second);
    }
  }
  return checks;
}

// Newton system over the solved unknowns in ln(coverage). The row of a
// solved unknown is ln(production) - ln(consumption): unlike the relative
// rate residual, which saturates at +-1 far from the root, it stays nearly
// linear in ln(coverage) over many orders of magnitude. Its magnitude is
// about twice the relative residual near the root. A row whose production
// or consumption is zero falls back to the relative residual. Each
// conservation law replaces the row of one unknown with its error.
template <typename Scalar>
struct NewtonSystem {
  Vector<Scalar> residual;
  Matrix<Scalar> jacobian;
};

template <typename Scalar>
NewtonSystem<Scalar> newton_system(const Network& network, const Conservation& c,
                                   const Eigen::VectorXd& law_values, const Vector<Scalar>& x) {
  using std::log;
  const int n = static_cast<int>(c.solved.size());
  Vector<Scalar> forward, reverse, production, consumption;
  Matrix<Scalar> d_production, d_consumption;
  network.rates(x, forward, reverse);
  network.balance_terms(forward, reverse, production, consumption, d_production, d_consumption);

  NewtonSystem<Scalar> system;
  system.residual.resize(n);
  system.jacobian.resize(n, n);
  for (int p = 0; p < n; ++p) {
    const int i = c.solved[p];
    const Scalar P = production[i];
    const Scalar C = consumption[i];
    if (P > Scalar(0) && C > Scalar(0)) {
      system.residual[p] = log(P) - log(C);
      for (int q = 0; q < n; ++q) {
        const int k = c.solved[q];
        system.jacobian(p, q) = d_production(i, k) / P - d_consumption(i, k) / C;
      }
    } else {
      const Scalar scale = P + C > Scalar(0) ? P + C : Scalar(1);
      system.residual[p] = (P - C) / scale;
      for (int q = 0; q < n; ++q) {
        const int k = c.solved[q];
        system.jacobian(p, q) = (d_production(i, k) - d_consumption(i, k)) / scale;
      }
    }
  }
  for (int k = 0; k < static_cast<int>(c.replaced.size()); ++k) {
    const int row = c.replaced[k];
    const Scalar target = Scalar(law_values[k]);
    Scalar value = 0;
    Scalar scale = std::abs(target);
    for (int q = 0; q < n; ++q) {
      const Scalar term = Scalar(c.laws(k, q)) * x[c.solved[q]];
      value += term;
      scale += std::abs(term);
    }
    if (c.laws.row(k).minCoeff() >= 0.0 && target > Scalar(0)) {
      // A law with non-negative coefficients, such as a site balance, as
      // ln(sum) - ln(total), for the same reason as the rate rows.
      system.residual[row] = log(value) - log(target);
      for (int q = 0; q < n; ++q) {
        system.jacobian(row, q) = Scalar(c.laws(k, q)) * x[c.solved[q]] / value;
      }
      continue;
    }
    if (!(scale > Scalar(0))) scale = 1;
    system.residual[row] = (value - target) / scale;
    for (int q = 0; q < n; ++q) {
      system.jacobian(row, q) = Scalar(c.laws(k, q)) * x[c.solved[q]] / scale;
    }
  }
  return system;
}

struct NewtonOutcome {
  bool converged = false;
  Eigen::VectorXd x;
  double residual = 0.0;
  int iterations = 0;
  std::string reason;
};

// Damped Newton on ln(coverage) of the solved unknowns, which keeps every
// coverage positive and treats 1e-30 and 1 with the same relative precision.
template <typename Scalar>
NewtonOutcome newton(const Network& network, const Conservation& c,
                     const Eigen::VectorXd& law_values, const Eigen::VectorXd& start,
                     double target, double tolerance, int max_iterations) {
  using std::exp;
  using std::log;
  NewtonOutcome outcome;
  const int n = static_cast<int>(c.solved.size());
  Vector<Scalar> x = start.cast<Scalar>();
  Vector<Scalar> u(n);
  for (int p = 0; p < n; ++p) {
    const int i = c.solved[p];
    // A coverage the linear integrator left at zero or below starts at a
    // floor; a positive one, however small, is kept.
    if (!(x[i] > Scalar(0))) x[i] = Scalar(kStartFloor * network.site_total(network.site_of(i)));
    u[p] = log(x[i]);
  }
  auto max_norm = [](const Vector<Scalar>& v) {
    return v.size() == 0 ? Scalar(0) : v.cwiseAbs().maxCoeff();
  };

  NewtonSystem<Scalar> system = newton_system(network, c, law_values, x);
  Scalar merit = system.residual.norm();
  for (int iteration = 1; iteration <= max_iterations && n > 0; ++iteration) {
    outcome.iterations = iteration;
    const Vector<Scalar> step = system.jacobian.fullPivLu().solve(-system.residual);
    if (!step.allFinite()) {
      outcome.reason = "Newton step is not finite (singular Jacobian)";
      break;
    }

    Scalar lambda = std::min(Scalar(1), Scalar(kMaxLogStep) / std::max(max_norm(step), Scalar(1e-300)));
    bool improved = false;
    for (int halving = 0; halving <= kMaxLineSearchHalvings; ++halving, lambda *= Scalar(0.5)) {
      const Vector<Scalar> trial_u = u + lambda * step;
      Vector<Scalar> trial_x = x;
      for (int p = 0; p < n; ++p) trial_x[c.solved[p]] = exp(trial_u[p]);
      NewtonSystem<Scalar> trial = newton_system(network, c, law_values, trial_x);
      const Scalar trial_merit = trial.residual.norm();
      if (std::isfinite(static_cast<double>(trial_merit)) && trial_merit < merit) {
        u = trial_u;
        x = trial_x;
        system = std::move(trial);
        merit = trial_merit;
        improved = true;
        break;
      }
    }

    if (max_norm(system.residual) <= Scalar(target)) {
      outcome.converged = true;
      break;
    }
    if (!improved) {
      // Rounding floor: no step reduces the residual any further.
      outcome.converged = max_norm(system.residual) <= Scalar(tolerance);
      if (!outcome.converged) outcome.reason = "Newton line search stalled";
      break;
    }
  }
  if (n == 0) outcome.converged = true;
  if (!outcome.converged && outcome.reason.empty()) {
    outcome.reason = "Newton did not converge in " + std::to_string(max_iterations) + " iterations";
  }
  outcome.residual = static_cast<double>(relative_residual<Scalar>(network, c, x));
  outcome.x = x.template cast<double>();
  return outcome;
}

// Largest real part of the eigenvalues of the Jacobian restricted to the
// subspace that keeps the conservation laws. It is computed on the matrix
// d(ln x_i/dt)/d(ln x_k) of the solved unknowns, which is similar to the
// Jacobian and suits the eigen-solver's scaling, projected onto the null
// space of the laws in those variables.
double max_eigenvalue_real(const Network& network, const Conservation& c,
                           const Eigen::VectorXd& x_in, double* max_modulus) {
  const int n = static_cast<int>(c.solved.size());
  *max_modulus = 0.0;
  Eigen::VectorXd x = x_in.cwiseMax(std::numeric_limits<double>::min());
  Eigen::VectorXd forward, reverse;
  Eigen::MatrixXd J;
  network.rates(x, forward, reverse);
  network.log_jacobian(forward, reverse, J);

  Eigen::MatrixXd A(n, n);
  for (int p = 0; p < n; ++p) {
    for (int q = 0; q < n; ++q) A(p, q) = J(c.solved[p], c.solved[q]) / x[c.solved[p]];
  }
  Eigen::MatrixXd Q = Eigen::MatrixXd::Identity(n, n);
  if (c.laws.rows() > 0) {
    Eigen::MatrixXd scaled_laws = c.laws;
    for (int q = 0; q < n; ++q) scaled_laws.col(q) *= x[c.solved[q]];
    for (int k = 0; k < scaled_laws.rows(); ++k) {
      scaled_laws.row(k) /= std::max(scaled_laws.row(k).cwiseAbs().maxCoeff(), 1e-300);
    }
    Eigen::JacobiSVD<Eigen::MatrixXd> svd(scaled_laws, Eigen::ComputeFullV);
    const int rank = static_cast<int>(c.laws.rows());
    Q = svd.matrixV().rightCols(n - rank);
  }
  if (Q.cols() == 0) return -1.0;
  const Eigen::MatrixXd reduced = Q.transpose() * A * Q;
  const Eigen::VectorXcd eigenvalues =
      Eigen::EigenSolver<Eigen::MatrixXd>(reduced, false).eigenvalues();
  double largest = -std::numeric_limits<double>::infinity();
  for (const auto& value : eigenvalues) {
    largest = std::max(largest, value.real());
    *max_modulus = std::max(*max_modulus, std::abs(value));
  }
  return largest;
}

// Advances a controlled stepper from time to end, landing exactly on end,
// and calls after_step on the state after each accepted step. Returns false
// when steps reaches max_steps first.
template <typename Stepper, typename System, typename AfterStep>
bool advance_stepper(Stepper& stepper, System& system, OdeVector& state, double& time,
                     double& step_size, double end, int& steps, int max_steps,
                     AfterStep after_step) {
  while (time < end) {
    if (steps >= max_steps) return false;
    double dt = std::min(step_size, end - time);
    const bool truncated = dt < step_size;
    const auto outcome = stepper.try_step(system, state, time, dt);
    if (outcome == odeint::success) after_step(state);
    if (outcome == odeint::success && truncated) {
      time = end;  // land exactly on the checkpoint; keep the longer step size
    } else {
      step_size = dt;
    }
    ++steps;
  }
  return true;
}

// Stiff integration with a Rosenbrock method in u = ln(coverage) of the
// solved unknowns, with the held ones fixed: du_i/dt = (P_i - C_i) / x_i.
// Coverages stay positive, and one absolute tolerance on u is one relative
// tolerance on every coverage, so a coverage of 1e-60 is resolved as well
// as one near 1. A zero start coverage begins at a floor far below any
// coverage that matters.
class LogIntegrator {
 public:
  LogIntegrator(const Network& network, const Conservation& conservation,
             const Eigen::VectorXd& start)
      : network_(network),
        conservation_(conservation),
        stepper_(kLogAbsTolerance, kLogRelTolerance),
        state_(conservation.solved.size()),
        x_(start) {
    for (std::size_t p = 0; p < state_.size(); ++p) {
      const int i = conservation.solved[p];
      const double floor = kIntegrationFloor * network.site_total(network.site_of(i));
      state_[p] = std::log(std::max(start[i], floor));
    }
  }

  /// Advances to time end [s]; false when the step budget ran out.
  bool advance_to(double end, int& steps, int max_steps) {
    const std::vector<int>& solved = conservation_.solved;
    const int n = static_cast<int>(solved.size());
    auto coverages = [this, &solved, n](const OdeVector& u) {
      Eigen::VectorXd x = x_;
      for (int p = 0; p < n; ++p) x[solved[p]] = std::exp(u[p]);
      return x;
    };
    // Production, consumption and their derivatives at the coverages of u.
    struct Balance {
      Eigen::VectorXd x, production, consumption;
      Eigen::MatrixXd d_production, d_consumption;
    };
    auto balance_at = [&](const OdeVector& u) {
      Balance b;
      b.x = coverages(u);
      Eigen::VectorXd forward, reverse;
      network_.rates(b.x, forward, reverse);
      network_.balance_terms(forward, reverse, b.production, b.consumption, b.d_production,
                             b.d_consumption);
      return b;
    };
    auto system = [&](const OdeVector& u, OdeVector& dudt, double) {
      const Balance b = balance_at(u);
      for (int p = 0; p < n; ++p) {
        const int i = solved[p];
        dudt[p] = (b.production[i] - b.consumption[i]) / b.x[i];
      }
    };
    auto jacobian = [&](const OdeVector& u, OdeMatrix& J, double, OdeVector& dfdt) {
      const Balance b = balance_at(u);
      const Eigen::VectorXd& x = b.x;
      const Eigen::VectorXd& production = b.production;
      const Eigen::VectorXd& consumption = b.consumption;
      const Eigen::MatrixXd& d_production = b.d_production;
      const Eigen::MatrixXd& d_consumption = b.d_consumption;
      for (int p = 0; p < n; ++p) {
        const int i = solved[p];
        dfdt[p] = 0.0;
        for (int q = 0; q < n; ++q) {
          const int k = solved[q];
          J(p, q) = (d_production(i, k) - d_consumption(i, k)) / x[i];
        }
        J(p, p) -= (production[i] - consumption[i]) / x[i];
      }
    };
    auto pair = std::make_pair(system, jacobian);

    return advance_stepper(stepper_, pair, state_, time_, dt_, end, steps, max_steps,
                           [](OdeVector&) {});
  }

  Eigen::VectorXd state() const {
    Eigen::VectorXd x = x_;
    for (std::size_t p = 0; p < state_.size(); ++p) {
      x[conservation_.solved[p]] = std::exp(state_[p]);
    }
    return x;
  }
  double time() const { return time_; }

 private:
  const Network& network_;
  const Conservation& conservation_;
  odeint::rosenbrock4_controller<odeint::rosenbrock4<double>> stepper_;
  OdeVector state_;
  /// Coverages of the held unknowns; the solved entries are overwritten.
  Eigen::VectorXd x_;
  double time_ = 0.0;
  double dt_ = kFirstStep_s;
};

// Stiff integration of every coverage with a Rosenbrock method, the fast
// first try; negative
// coverages that rounding leaves below the absolute tolerance are reset to
// zero after each step, so the state stays physical.
class LinearIntegrator {
 public:
  LinearIntegrator(const Network& network, const Conservation&, const Eigen::VectorXd& start)
      : network_(network),
        stepper_(kIntegratorAbsTolerance, kIntegratorRelTolerance),
        state_(network.size()) {
    for (int i = 0; i < network.size(); ++i) state_[i] = start[i];
  }

  /// Advances to time end [s]; false when the step budget ran out.
  bool advance_to(double end, int& steps, int max_steps) {
    auto system = [this](const OdeVector& x, OdeVector& dxdt, double) {
      Eigen::VectorXd derivative;
      network_.derivative<double>(to_eigen(x), derivative);
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

    return advance_stepper(stepper_, pair, state_, time_, dt_, end, steps, max_steps,
                           [](OdeVector& state) {
                             for (double& value : state) value = std::max(value, 0.0);
                           });
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

// The result of one start.
struct Attempt {
  bool accepted = false;
  std::string reason;
  Eigen::VectorXd x;
  Checks checks;
  double max_eigenvalue_real = 0.0;
  Precision precision = Precision::double_precision;
  int newton_iterations = 0;
  int integrator_steps = 0;
  double integrated_time_s = 0.0;
};

// Checks a Newton root against the acceptance rules; empty when accepted.
std::optional<std::string> check_root(const Model& model, const Network& network,
                                      const Conservation& c, Attempt& attempt) {
  const Eigen::VectorXd& x = attempt.x;
  for (int i = 0; i < network.size(); ++i) {
    const double total = network.site_total(network.site_of(i));
    if (!(x[i] >= 0.0) || x[i] > total * (1.0 + kBoundSlack)) {
      std::ostringstream message;
      message << "coverage " << i << " = " << x[i] << " is outside [0, " << total << "]";
      return message.str();
    }
  }

  const double tolerance = model.solver.residual_tolerance;
  const double residual = attempt.checks.residual;
  attempt.checks = compute_checks(model, network, c, x);
  if (attempt.precision == Precision::extended_precision) {
    // Double rounding of the rates would hide the precision Newton reached.
    attempt.checks.residual = residual;
  }
  if (!(attempt.checks.residual <= tolerance)) {
    std::ostringstream message;
    message << "relative residual " << attempt.checks.residual << " above tolerance " << tolerance;
    return message.str();
  }
  if (!(attempt.checks.site_sum_error <= kSiteSumTolerance)) {
    std::ostringstream message;
    message << "site sums off their totals by " << attempt.checks.site_sum_error;
    return message.str();
  }
  if (!(attempt.checks.balance_error <= kBalanceToleranceFactor * tolerance)) {
    std::ostringstream message;
    message << "gas consumption and production differ by " << attempt.checks.balance_error
            << " of the gross gas flux";
    return message.str();
  }

  double max_modulus = 0.0;
  attempt.max_eigenvalue_real = max_eigenvalue_real(network, c, x, &max_modulus);
  if (attempt.max_eigenvalue_real > kStabilityRelTolerance * max_modulus) {
    std::ostringstream message;
    message << "unstable steady state (eigenvalue with real part " << attempt.max_eigenvalue_real
            << " 1/s)";
    return message.str();
  }
  return std::nullopt;
}

// Integrates from start and tries Newton at each checkpoint once the state
// is close to steady, in long double when double precision stalls.
template <typename Integrator>
Attempt integrate_and_refine(const Model& model, const Network& network,
                             const Eigen::VectorXd& start, const SolverOptions& options,
                             Clock::time_point deadline) {
  Attempt attempt;
  const Conservation c = analyze_conservation(network, start);
  Eigen::VectorXd solved_start(c.solved.size());
  for (std::size_t p = 0; p < c.solved.size(); ++p) solved_start[p] = start[c.solved[p]];
  const Eigen::VectorXd law_values = c.laws * solved_start;
  const double tolerance = model.solver.residual_tolerance;

  Integrator integrator(network, c, start);
  attempt.reason = "integration reached its time limit";
  for (double checkpoint = kFirstCheckpoint_s; checkpoint <= options.max_time_s * 1.000001;
       checkpoint *= kCheckpointFactor) {
    if (Clock::now() > deadline) {
      attempt.reason = "point time limit of " + std::to_string(options.max_solve_time_s) +
                       " s reached at model time " + std::to_string(integrator.time()) + " s";
      break;
    }
    if (!integrator.advance_to(checkpoint, attempt.integrator_steps,
                               options.max_integrator_steps)) {
      attempt.reason =
          "integrator step limit reached at t = " + std::to_string(integrator.time()) + " s";
      break;
    }
    const Eigen::VectorXd x = integrator.state();
    if (!x.allFinite()) {
      attempt.reason = "integration produced a non-finite coverage";
      break;
    }
    const bool last_checkpoint = checkpoint * kCheckpointFactor > options.max_time_s * 1.000001;
    if (relative_residual<double>(network, c, x) > options.newton_start_residual &&
        !last_checkpoint) {
      continue;
    }

    // A tolerance at or below double rounding makes the double iteration
    // stall, and the long double one below finishes the point.
    NewtonOutcome outcome =
        newton<double>(network, c, law_values, x, std::min(options.newton_target, tolerance),
                       tolerance, options.max_newton_iterations);
    attempt.newton_iterations += outcome.iterations;
    attempt.precision = Precision::double_precision;
    const bool met = outcome.converged && outcome.residual <= tolerance;
    if (!met && outcome.residual <= options.newton_start_residual) {
      // Close but stalled: rounding in double may be the limit.
      outcome = newton<long double>(network, c, law_values, outcome.x,
                                    std::min(options.extended_newton_target, tolerance),
                                    tolerance, options.max_newton_iterations);
      attempt.newton_iterations += outcome.iterations;
      attempt.precision = Precision::extended_precision;
    }
    attempt.integrated_time_s = integrator.time();
    if (!outcome.converged) {
      attempt.reason = outcome.reason;
      continue;
    }
    attempt.x = outcome.x;
    attempt.checks.residual = outcome.residual;
    if (auto rejection = check_root(model, network, c, attempt)) {
      attempt.reason = *rejection;
      continue;
    }
    attempt.accepted = true;
    attempt.reason.clear();
    return attempt;
  }
  attempt.x = integrator.state();
  attempt.integrated_time_s = integrator.time();
  return attempt;
}

// Tries the fast linear integrator first. When its state leads Newton to no
// accepted root, integrates again in logarithms, which resolves coverages
// far below the linear integrator's absolute tolerance: at low temperature
// a poisoned surface can have free sites near 1e-60.
Attempt solve_from(const Model& model, const Network& network, const Eigen::VectorXd& start,
                   const SolverOptions& options, Clock::time_point deadline) {
  Attempt linear =
      integrate_and_refine<LinearIntegrator>(model, network, start, options, deadline);
  if (linear.accepted || Clock::now() > deadline) return linear;
  Attempt logarithmic =
      integrate_and_refine<LogIntegrator>(model, network, start, options, deadline);
  logarithmic.newton_iterations += linear.newton_iterations;
  logarithmic.integrator_steps += linear.integrator_steps;
  if (!logarithmic.accepted) {
    logarithmic.reason = "linear integration: " + linear.reason +
                         "; logarithmic integration: " + logarithmic.reason;
  }
  return logarithmic;
}

// Returns the starts: the initial state, then for StartSet::all each solved
// adsorbate saturating its site type and random states, from c, the
// conservation structure of the initial state. Starts other than the
// initial one are made only when the site balances are the only laws of
// the solved unknowns, because they must keep the initial state's law values.
std::vector<Eigen::VectorXd> make_starts(const Model& model, const Network& network,
                                         const Conservation& c) {
  const Eigen::VectorXd initial = network.initial_state();
  std::vector<Eigen::VectorXd> starts = {initial};
  if (model.solver.starts != StartSet::all) return starts;
  if (c.extra_laws > 0) return starts;

  std::vector<bool> solved(network.size(), false);
  for (int i : c.solved) solved[i] = true;
  // Sites of each type not taken by held species.
  std::vector<double> available(network.site_type_count());
  for (int s = 0; s < network.site_type_count(); ++s) available[s] = network.site_total(s);
  for (int i : c.held) available[network.site_of(i)] -= network.site_count_of(i) * initial[i];

  auto cleared = [&](int s) {
    Eigen::VectorXd x = initial;
    for (int i : c.solved) {
      if (network.site_of(i) == s) x[i] = 0.0;
    }
    return x;
  };
  for (int a = 0; a < network.adsorbate_count(); ++a) {
    if (!solved[a]) continue;
    const int s = network.site_of(a);
    Eigen::VectorXd x = cleared(s);
    x[a] = available[s] / network.site_count_of(a);
    starts.push_back(x);
  }

  std::mt19937_64 generator(model.solver.seed);
  std::exponential_distribution<double> weight(1.0);
  for (int r = 0; r < model.solver.random_starts; ++r) {
    Eigen::VectorXd x = initial;
    for (int s = 0; s < network.site_type_count(); ++s) {
      double sum = 0.0;
      for (int i : c.solved) {
        if (network.site_of(i) != s) continue;
        x[i] = weight(generator);
        sum += network.site_count_of(i) * x[i];
      }
      for (int i : c.solved) {
        if (network.site_of(i) == s && sum > 0.0) x[i] *= available[s] / sum;
      }
    }
    starts.push_back(x);
  }
  return starts;
}

bool same_state(const Eigen::VectorXd& a, const Eigen::VectorXd& b) {
  const double tiny = std::numeric_limits<double>::min();
  for (int i = 0; i < a.size(); ++i) {
    const double distance = std::abs(std::log(std::max(a[i], tiny)) - std::log(std::max(b[i], tiny)));
    if (distance > kDistinctLogDistance) return false;
  }
  return true;
}

double product_rate(const Model& model, const Network& network, const Eigen::VectorXd& x) {
  Eigen::VectorXd forward, reverse;
  network.rates(x, forward, reverse);
  return network.gas_production(model.product, forward, reverse);
}

SteadyState solve(const Model& model, const SolverOptions& options, Clock::time_point started) {
  const Network network(model);
  const Clock::time_point deadline =
      started + std::chrono::duration_cast<Clock::duration>(
                    std::chrono::duration<double>(options.max_solve_time_s));
  SteadyState result;
  const Conservation initial_conservation =
      analyze_conservation(network, network.initial_state());
  result.held = initial_conservation.held;

  std::optional<Attempt> reported;
  std::string first_reason;
  for (const Eigen::VectorXd& start : make_starts(model, network, initial_conservation)) {
    Attempt attempt = solve_from(model, network, start, options, deadline);
    result.newton_iterations += attempt.newton_iterations;
    result.integrator_steps += attempt.integrator_steps;
    if (first_reason.empty() && !reported && !attempt.accepted) first_reason = attempt.reason;
    if (!attempt.accepted) {
      if (!reported) reported = attempt;  // keep the first failure for its state
      continue;
    }
    const bool known = std::any_of(result.branches.begin(), result.branches.end(),
                                   [&](const SteadyBranch& branch) {
                                     return same_state(branch.coverages, attempt.x);
                                   });
    if (!known) result.branches.push_back({attempt.x, product_rate(model, network, attempt.x)});
    if (!reported || !reported->accepted) reported = attempt;
    if (Clock::now() > deadline) break;
  }

  const Attempt& chosen = *reported;
  result.status = chosen.accepted ? PointStatus::converged : PointStatus::failed;
  result.reason = chosen.accepted ? "" : chosen.reason;
  result.coverages = chosen.x;
  result.residual = chosen.checks.residual;
  result.site_sum_error = chosen.checks.site_sum_error;
  result.balance_error = chosen.checks.balance_error;
  result.max_eigenvalue_real = chosen.max_eigenvalue_real;
  result.precision = chosen.precision;
  result.integrated_time_s = chosen.integrated_time_s;
  result.stable_states = static_cast<int>(result.branches.size());
  std::sort(result.branches.begin(), result.branches.end(),
            [](const SteadyBranch& a, const SteadyBranch& b) { return a.tof < b.tof; });

  if (chosen.x.size() == network.size() && chosen.x.allFinite()) {
    Eigen::VectorXd forward, reverse;
    network.rates(chosen.x, forward, reverse);
    result.tof = network.gas_production(model.product, forward, reverse);
    for (int j = 0; j < network.step_count(); ++j) {
      result.net_rates.push_back(forward[j] - reverse[j]);
      result.reversibilities.push_back(forward[j] > 0.0 ? reverse[j] / forward[j]
                                                        : std::numeric_limits<double>::quiet_NaN());
    }
  }
  if (result.status == PointStatus::failed) result.tof = 0.0;
  if (result.status == PointStatus::converged && !first_reason.empty()) {
    result.reason = "the initial coverages gave no steady state (" + first_reason +
                    "); reported the first stable state from another start";
  }
  return result;
}

}  // namespace

std::vector<int> held_unknowns(const Model& model) {
  const Network network(model);
  return analyze_conservation(network, network.initial_state()).held;
}

const char* to_string(PointStatus status) noexcept {
  return status == PointStatus::converged ? "converged" : "failed";
}

const char* to_string(Precision precision) noexcept {
  return precision == Precision::double_precision ? "double" : "extended";
}

SteadyState solve_steady_state(const Model& model, const SolverOptions& options) noexcept {
  const auto start = Clock::now();
  SteadyState result;
  try {
    result = solve(model, options, start);
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
  const std::chrono::duration<double> elapsed = Clock::now() - start;
  result.solve_time_s = elapsed.count();
  return result;
}

}  // namespace mkmap
