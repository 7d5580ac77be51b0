#include "kinetics/network.hpp"

#include <algorithm>
#include <cmath>

namespace mkmap {
namespace {

// Adds coefficient to the factor of unknown in factors, creating it if needed.
void add_factor(std::vector<std::pair<int, int>>& factors, int unknown, int coefficient) {
  for (auto& [index, order] : factors) {
    if (index == unknown) {
      order += coefficient;
      return;
    }
  }
  factors.emplace_back(unknown, coefficient);
}

}  // namespace

Network::Network(const Model& model) {
  adsorbate_count_ = static_cast<int>(model.adsorbates.size());
  for (const Adsorbate& adsorbate : model.adsorbates) {
    site_of_.push_back(adsorbate.site);
    site_count_.push_back(adsorbate.site_count);
  }
  for (int s = 0; s < static_cast<int>(model.sites.size()); ++s) {
    site_of_.push_back(s);
    site_count_.push_back(1);
    totals_.push_back(model.sites[s].total);
  }

  initial_ = Eigen::VectorXd::Zero(size());
  for (int s = 0; s < site_type_count(); ++s) initial_[free_site_index(s)] = totals_[s];
  for (int a = 0; a < static_cast<int>(model.initial_coverages.size()); ++a) {
    initial_[a] = model.initial_coverages[a];
    initial_[free_site_index(site_of_[a])] -= site_count_[a] * model.initial_coverages[a];
  }
  // The parser allows initial coverages to exceed a total by rounding.
  for (int s = 0; s < site_type_count(); ++s) {
    initial_[free_site_index(s)] = std::max(0.0, initial_[free_site_index(s)]);
  }

  const RateConstants k = compute_rate_constants(model);
  gas_count_ = static_cast<int>(model.gases.size());
  const int gas_count = gas_count_;

  for (std::size_t j = 0; j < model.steps.size(); ++j) {
    const Step& step = model.steps[j];
    CompiledStep compiled;
    compiled.forward_constant = k.forward[j];
    compiled.reverse_constant = k.reverse[j];
    compiled.gas_net.assign(gas_count, 0);

    // Collects surface factors of one state and folds its gas activities
    // into the rate constant.
    auto compile_state = [&](const std::vector<Term>& state, double& constant, int sign) {
      std::vector<std::pair<int, int>> factors;
      for (const Term& term : state) {
        switch (term.kind) {
          case TermKind::gas:
            constant *= std::pow(model.gases[term.index].pressure, term.coefficient);
            compiled.gas_net[term.index] += sign * term.coefficient;
            break;
          case TermKind::adsorbate:
            add_factor(factors, term.index, term.coefficient);
            break;
          case TermKind::free_site:
            add_factor(factors, adsorbate_count_ + term.index, term.coefficient);
            break;
          case TermKind::transition_state:
            break;
        }
      }
      return factors;
    };

    const auto initial = compile_state(step.initial, compiled.forward_constant, -1);
    const auto final = compile_state(step.final, compiled.reverse_constant, +1);

    std::vector<std::pair<int, int>> net;
    for (const auto& [unknown, order] : initial) {
      compiled.initial.push_back({unknown, order});
      add_factor(net, unknown, -order);
    }
    for (const auto& [unknown, order] : final) {
      compiled.final.push_back({unknown, order});
      add_factor(net, unknown, order);
    }
    for (const auto& [unknown, change] : net) {
      if (change != 0) compiled.net.push_back({unknown, change});
    }
    steps_.push_back(std::move(compiled));
  }
}

Eigen::MatrixXd Network::stoichiometry() const {
  Eigen::MatrixXd N = Eigen::MatrixXd::Zero(size(), step_count());
  for (int j = 0; j < step_count(); ++j) {
    for (const Factor& change : steps_[j].net) N(change.unknown, j) = change.order;
  }
  return N;
}

double Network::monomial_derivative(double constant, const std::vector<Factor>& factors,
                                    const Eigen::VectorXd& x, int unknown) {
  double value = constant;
  bool present = false;
  for (const Factor& factor : factors) {
    int power = factor.order;
    if (factor.unknown == unknown) {
      present = true;
      value *= factor.order;
      power -= 1;
    }
    for (int n = 0; n < power; ++n) value *= x[factor.unknown];
  }
  return present ? value : 0.0;
}

void Network::jacobian(const Eigen::VectorXd& x, Eigen::MatrixXd& J) const {
  J = Eigen::MatrixXd::Zero(size(), size());
  for (const CompiledStep& step : steps_) {
    for (int k = 0; k < size(); ++k) {
      const double d_net = monomial_derivative(step.forward_constant, step.initial, x, k) -
                           monomial_derivative(step.reverse_constant, step.final, x, k);
      if (d_net == 0.0) continue;
      for (const Factor& change : step.net) {
        J(change.unknown, k) += change.order * d_net;
      }
    }
  }
}

double Network::gas_production(int gas, const Eigen::VectorXd& forward,
                               const Eigen::VectorXd& reverse) const {
  double production = 0.0;
  for (int j = 0; j < step_count(); ++j) {
    production += steps_[j].gas_net[gas] * (forward[j] - reverse[j]);
  }
  return production;
}

}  // namespace mkmap
