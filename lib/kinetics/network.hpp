#pragma once
// A reaction network compiled for fast evaluation at fixed conditions.
//
// The state vector contains every surface coverage: the adsorbates in
// Model::adsorbates order, then the free sites of each site type in
// Model::sites order. Keeping free sites as unknowns, instead of computing
// them as total - sum, keeps their relative precision when they are tiny.

#include <Eigen/Dense>
#include <vector>

#include "kinetics/rate_constants.hpp"
#include "model/model.hpp"

namespace mkmap {

class Network {
 public:
  /// Builds the network of model at its current temperature and pressures.
  explicit Network(const Model& model);

  /// Number of surface unknowns: adsorbates plus one free site per site type.
  int size() const noexcept { return static_cast<int>(site_of_.size()); }
  int adsorbate_count() const noexcept { return adsorbate_count_; }
  int step_count() const noexcept { return static_cast<int>(steps_.size()); }
  int site_type_count() const noexcept { return static_cast<int>(totals_.size()); }

  /// Site type of unknown i.
  int site_of(int i) const { return site_of_[i]; }
  /// Sites one unit of unknown i occupies (1 for a free site).
  int site_count_of(int i) const { return site_count_[i]; }
  /// Total of site type s [dimensionless].
  double site_total(int s) const { return totals_[s]; }
  /// Index of the free-site unknown of site type s.
  int free_site_index(int s) const { return adsorbate_count_ + s; }

  /// Returns the clean-surface state: no adsorbates, every site free.
  Eigen::VectorXd clean_surface() const;

  /// Computes forward and reverse rates of every step [1/s] at coverages x.
  void rates(const Eigen::VectorXd& x, Eigen::VectorXd& forward, Eigen::VectorXd& reverse) const;

  /// Computes dx/dt [1/s] for every unknown, free sites included.
  void derivative(const Eigen::VectorXd& x, Eigen::VectorXd& dxdt) const;

  /// Computes d(dx/dt)/dx [1/s], the Jacobian of derivative().
  void jacobian(const Eigen::VectorXd& x, Eigen::MatrixXd& J) const;

  /// Computes d(dx_i/dt)/d(ln x_k) from rates already evaluated at x:
  /// in logarithmic variables a mass-action rate's derivative is its
  /// order times the rate, with no division by a coverage.
  void log_jacobian(const Eigen::VectorXd& forward, const Eigen::VectorXd& reverse,
                    Eigen::MatrixXd& J) const;

  /// Computes the gross flux through each unknown, sum over steps of
  /// |net stoichiometry| (forward + reverse) [1/s], from evaluated rates.
  void gross_flux(const Eigen::VectorXd& forward, const Eigen::VectorXd& reverse,
                  Eigen::VectorXd& flux) const;

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

  static double monomial(double constant, const std::vector<Factor>& factors,
                         const Eigen::VectorXd& x);
  static double monomial_derivative(double constant, const std::vector<Factor>& factors,
                                    const Eigen::VectorXd& x, int unknown);

  int adsorbate_count_ = 0;
  std::vector<int> site_of_;
  std::vector<int> site_count_;
  std::vector<double> totals_;
  std::vector<CompiledStep> steps_;
};

}  // namespace mkmap
