#pragma once
// A reaction network compiled for fast evaluation at fixed conditions.
//
// The state vector contains every surface coverage: the adsorbates in
// Model::adsorbates order, then the free sites of each site type in
// Model::sites order. Keeping free sites as unknowns, instead of computing
// them as total - sum, keeps their relative precision when they are tiny.
// The evaluation functions are templates on the scalar type, so that the
// steady-state solver can retry a point in long double.

#include <Eigen/Dense>
#include <cmath>
#include <vector>

#include "kinetics/rate_constants.hpp"
#include "model/model.hpp"

namespace mkmap {

template <typename Scalar>
using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
template <typename Scalar>
using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;

class Network {
 public:
  /// Builds the network of model at its current temperature and pressures.
  explicit Network(const Model& model);

  /// Number of surface unknowns: adsorbates plus one free site per site type.
  int size() const noexcept { return static_cast<int>(site_of_.size()); }
  int adsorbate_count() const noexcept { return adsorbate_count_; }
  int step_count() const noexcept { return static_cast<int>(steps_.size()); }
  int site_type_count() const noexcept { return static_cast<int>(totals_.size()); }
  int gas_count() const noexcept { return gas_count_; }

  /// Site type of unknown i.
  int site_of(int i) const { return site_of_[i]; }
  /// Sites one unit of unknown i occupies (1 for a free site).
  int site_count_of(int i) const { return site_count_[i]; }
  /// Total of site type s [dimensionless].
  double site_total(int s) const { return totals_[s]; }
  /// Index of the free-site unknown of site type s.
  int free_site_index(int s) const { return adsorbate_count_ + s; }

  /// Returns the model's initial state: its initial coverages, or no
  /// adsorbates, with the rest of every site type free.
  Eigen::VectorXd initial_state() const { return initial_; }

  /// Returns the net stoichiometry: entry (i, j) is how many units of
  /// unknown i step j produces (FS count minus IS count).
  Eigen::MatrixXd stoichiometry() const;

  /// Computes forward and reverse rates of every step [1/s] at coverages x.
  template <typename Scalar>
  void rates(const Vector<Scalar>& x, Vector<Scalar>& forward, Vector<Scalar>& reverse) const;

  /// Computes dx/dt [1/s] for every unknown, free sites included.
  template <typename Scalar>
  void derivative(const Vector<Scalar>& x, Vector<Scalar>& dxdt) const;

  /// Computes d(dx/dt)/dx [1/s], the Jacobian of derivative().
  void jacobian(const Eigen::VectorXd& x, Eigen::MatrixXd& J) const;

  /// Computes d(dx_i/dt)/d(ln x_k) from rates already evaluated at x:
  /// in logarithmic variables a mass-action rate's derivative is its
  /// order times the rate, with no division by a coverage.
  template <typename Scalar>
  void log_jacobian(const Vector<Scalar>& forward, const Vector<Scalar>& reverse,
                    Matrix<Scalar>& J) const;

  /// Splits dx_i/dt into production minus consumption, both sums of
  /// non-negative rates [1/s], and computes their derivatives with respect
  /// to ln x_k, from rates already evaluated at x.
  template <typename Scalar>
  void balance_terms(const Vector<Scalar>& forward, const Vector<Scalar>& reverse,
                     Vector<Scalar>& production, Vector<Scalar>& consumption,
                     Matrix<Scalar>& d_production, Matrix<Scalar>& d_consumption) const;

  /// Computes the gross flux through each unknown, sum over steps of
  /// |net stoichiometry| (forward + reverse) [1/s], from evaluated rates.
  template <typename Scalar>
  void gross_flux(const Vector<Scalar>& forward, const Vector<Scalar>& reverse,
                  Vector<Scalar>& flux) const;

  /// Returns the net production rate of gas g [1/s per site]: positive for
  /// a product.
  double gas_production(int gas, const Eigen::VectorXd& forward,
                        const Eigen::VectorXd& reverse) const;

 private:
  struct Factor {
    int unknown;
    int order;
  };
  struct CompiledStep {
    double forward_constant;  ///< kf times the gas activities of the IS [1/s]
    double reverse_constant;  ///< kr times the gas activities of the FS [1/s]
    std::vector<Factor> initial;
    std::vector<Factor> final;
    std::vector<Factor> net;  ///< FS count minus IS count per unknown, nonzero only
    std::vector<int> gas_net;  ///< FS count minus IS count per gas
  };

  template <typename Scalar>
  static Scalar monomial(double constant, const std::vector<Factor>& factors,
                         const Vector<Scalar>& x) {
    Scalar value = constant;
    for (const Factor& factor : factors) {
      for (int n = 0; n < factor.order; ++n) value *= x[factor.unknown];
    }
    return value;
  }
  static double monomial_derivative(double constant, const std::vector<Factor>& factors,
                                    const Eigen::VectorXd& x, int unknown);

  int adsorbate_count_ = 0;
  int gas_count_ = 0;
  std::vector<int> site_of_;
  std::vector<int> site_count_;
  std::vector<double> totals_;
  Eigen::VectorXd initial_;
  std::vector<CompiledStep> steps_;
};

template <typename Scalar>
void Network::rates(const Vector<Scalar>& x, Vector<Scalar>& forward,
                    Vector<Scalar>& reverse) const {
  forward.resize(step_count());
  reverse.resize(step_count());
  for (int j = 0; j < step_count(); ++j) {
    forward[j] = monomial(steps_[j].forward_constant, steps_[j].initial, x);
    reverse[j] = monomial(steps_[j].reverse_constant, steps_[j].final, x);
  }
}

template <typename Scalar>
void Network::derivative(const Vector<Scalar>& x, Vector<Scalar>& dxdt) const {
  Vector<Scalar> forward, reverse;
  rates(x, forward, reverse);
  dxdt = Vector<Scalar>::Zero(size());
  for (int j = 0; j < step_count(); ++j) {
    const Scalar net_rate = forward[j] - reverse[j];
    for (const Factor& change : steps_[j].net) {
      dxdt[change.unknown] += Scalar(change.order) * net_rate;
    }
  }
}

template <typename Scalar>
void Network::log_jacobian(const Vector<Scalar>& forward, const Vector<Scalar>& reverse,
                           Matrix<Scalar>& J) const {
  J = Matrix<Scalar>::Zero(size(), size());
  for (int j = 0; j < step_count(); ++j) {
    const CompiledStep& step = steps_[j];
    for (const Factor& change : step.net) {
      for (const Factor& factor : step.initial) {
        J(change.unknown, factor.unknown) += Scalar(change.order * factor.order) * forward[j];
      }
      for (const Factor& factor : step.final) {
        J(change.unknown, factor.unknown) -= Scalar(change.order * factor.order) * reverse[j];
      }
    }
  }
}

template <typename Scalar>
void Network::balance_terms(const Vector<Scalar>& forward, const Vector<Scalar>& reverse,
                            Vector<Scalar>& production, Vector<Scalar>& consumption,
                            Matrix<Scalar>& d_production, Matrix<Scalar>& d_consumption) const {
  production = Vector<Scalar>::Zero(size());
  consumption = Vector<Scalar>::Zero(size());
  d_production = Matrix<Scalar>::Zero(size(), size());
  d_consumption = Matrix<Scalar>::Zero(size(), size());
  for (int j = 0; j < step_count(); ++j) {
    const CompiledStep& step = steps_[j];
    for (const Factor& change : step.net) {
      // A species the step produces gains from the forward rate and loses
      // to the reverse rate; one it consumes the other way round.
      const bool produced = change.order > 0;
      const Scalar count = Scalar(std::abs(change.order));
      Vector<Scalar>& gain = produced ? production : consumption;
      Vector<Scalar>& loss = produced ? consumption : production;
      Matrix<Scalar>& d_gain = produced ? d_production : d_consumption;
      Matrix<Scalar>& d_loss = produced ? d_consumption : d_production;
      gain[change.unknown] += count * forward[j];
      loss[change.unknown] += count * reverse[j];
      for (const Factor& factor : step.initial) {
        d_gain(change.unknown, factor.unknown) += count * Scalar(factor.order) * forward[j];
      }
      for (const Factor& factor : step.final) {
        d_loss(change.unknown, factor.unknown) += count * Scalar(factor.order) * reverse[j];
      }
    }
  }
}

template <typename Scalar>
void Network::gross_flux(const Vector<Scalar>& forward, const Vector<Scalar>& reverse,
                         Vector<Scalar>& flux) const {
  flux = Vector<Scalar>::Zero(size());
  for (int j = 0; j < step_count(); ++j) {
    for (const Factor& change : steps_[j].net) {
      flux[change.unknown] += Scalar(std::abs(change.order)) * (forward[j] + reverse[j]);
    }
  }
}

}  // namespace mkmap
