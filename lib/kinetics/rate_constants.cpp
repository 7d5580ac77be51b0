#include "kinetics/rate_constants.hpp"

#include <algorithm>
#include <cmath>

#include "kinetics/constants.hpp"

namespace mkmap {
namespace {

using namespace constants;

// Above this ratio theta_r / T the rotational partition function of a linear
// molecule takes the first two high-temperature corrections.
constexpr double kRotationalSeriesThreshold = 0.01;

double translational_partition(double mass_kg, double temperature_K) {
  const double kT = kB_J_per_K * temperature_K;
  const double thermal = 2.0 * pi * mass_kg * kT / (h_J_s * h_J_s);
  return kT / p0_Pa * std::pow(thermal, 1.5);
}

double rotational_partition(const GasThermo& thermo, double temperature_K) {
  const auto& theta = thermo.rotational_temperatures_K;
  const double T = temperature_K;
  const double sigma = thermo.symmetry;

  if (theta.size() == 1) {
    const double q = T / (sigma * theta[0]);
    if (theta[0] / T <= kRotationalSeriesThreshold) {
      return q;
    }
    return q * (1.0 + theta[0] / (3.0 * T) + theta[0] * theta[0] / (15.0 * T * T));
  }
  return std::sqrt(pi) / sigma * std::sqrt(T * T * T / (theta[0] * theta[1] * theta[2]));
}

// One vibrational mode includes the zero-point term; several omit it, as
// SCAKS does, so that results agree with it.
double vibrational_partition(const GasThermo& thermo, double temperature_K) {
  const auto& theta = thermo.vibrational_temperatures_K;
  const double T = temperature_K;

  if (theta.size() == 1) {
    return std::exp(-theta[0] / (2.0 * T)) / (1.0 - std::exp(-theta[0] / T));
  }
  double q = 1.0;
  for (double theta_v : theta) {
    q /= 1.0 - std::exp(-theta_v / T);
  }
  return q;
}

bool has_gas(const std::vector<Term>& state) {
  for (const Term& term : state) {
    if (term.kind == TermKind::gas) return true;
  }
  return false;
}

// Sum of coefficient * Gcorr over the gases of a state [eV].
double state_gas_correction(const Model& model, const std::vector<Term>& state) {
  double sum = 0.0;
  for (const Term& term : state) {
    if (term.kind == TermKind::gas) {
      sum += term.coefficient *
             gas_free_energy_correction(model.gases[term.index], model.temperature_K);
    }
  }
  return sum;
}

// Collision-theory adsorption: kf = r exp(-Ga/kT) p0 A / sqrt(2 pi m kB T),
// with m the mass of the first gas of the initial state.
// NOTE: a step with several gases in its initial state uses the first gas's
// mass for the collision rate.
double collision_rate(const Model& model, const Step& step) {
  const double T = model.temperature_K;
  double mass_kg = 0.0;
  for (const Term& term : step.initial) {
    if (term.kind == TermKind::gas) {
      mass_kg = model.gases[term.index].mass_amu * amu_kg;
      break;
    }
  }
  const double flux_per_pressure =
      p0_Pa * model.cell_area_m2 / std::sqrt(2.0 * pi * mass_kg * kB_J_per_K * T);
  return model.active_ratio * std::exp(-step.Ga_eV / (kB_eV_per_K * T)) * flux_per_pressure;
}

}  // namespace

double transition_state_rate(double barrier_eV, double temperature_K) {
  const double kT = kB_eV_per_K * temperature_K;
  return kT / h_eV_s * std::exp(-barrier_eV / kT);
}

double gas_free_energy_correction(const Gas& gas, double temperature_K) {
  if (!gas.thermo.enabled) {
    return 0.0;
  }
  const double q = translational_partition(gas.mass_amu * amu_kg, temperature_K) *
                   rotational_partition(gas.thermo, temperature_K) *
                   vibrational_partition(gas.thermo, temperature_K);
  return -kB_eV_per_K * temperature_K * std::log(q);
}

RateConstants compute_rate_constants(const Model& model) {
  const double T = model.temperature_K;
  const double kT = kB_eV_per_K * T;
  RateConstants k;
  k.forward.reserve(model.steps.size());
  k.reverse.reserve(model.steps.size());

  for (const Step& step : model.steps) {
    const double reverse_barrier = step.Ga_eV - step.dG_eV;

    if (step.rule == RateRule::given) {
      k.forward.push_back(step.kf);
      k.reverse.push_back(step.kr);
    } else if (step.rule == RateRule::transition_state) {
      k.forward.push_back(transition_state_rate(step.Ga_eV, T));
      k.reverse.push_back(transition_state_rate(reverse_barrier, T));
    } else if (has_gas(step.initial)) {
      // Adsorption: the collision rate defines an equivalent barrier, and the
      // reverse barrier follows from the gas-corrected reaction free energy.
      const double kf = collision_rate(model, step);
      const double equivalent_barrier = -kT * std::log(kf * h_eV_s / kT);
      const double corrected_dG = step.dG_eV - state_gas_correction(model, step.initial);
      const double reverse = std::max(0.0, equivalent_barrier - corrected_dG);
      k.forward.push_back(kf);
      k.reverse.push_back(transition_state_rate(reverse, T));
    } else if (has_gas(step.final)) {
      // Desorption: the reverse (adsorption) barrier includes the gas correction.
      const double reverse = reverse_barrier - state_gas_correction(model, step.final);
      k.forward.push_back(transition_state_rate(step.Ga_eV, T));
      k.reverse.push_back(transition_state_rate(reverse, T));
    } else {
      k.forward.push_back(transition_state_rate(step.Ga_eV, T));
      k.reverse.push_back(transition_state_rate(reverse_barrier, T));
    }
  }
  return k;
}

}  // namespace mkmap
