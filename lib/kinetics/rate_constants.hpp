#pragma once
// Rate constants of elementary steps by each step's rule: collision theory
// for adsorption with transition-state theory for the rest, transition-state
// theory for every step, or constants given in the model.

#include <vector>

#include "model/model.hpp"

namespace mkmap {

/// Forward and reverse rate constant of every step, in Model::steps order.
/// Units are 1/s per site; for a step with gases in its initial state the
/// gas activities are not included (rates multiply them in).
struct RateConstants {
  std::vector<double> forward;
  std::vector<double> reverse;
};

/// Returns k_TST(G) = (kB T / h) exp(-G / kB T) [1/s] for a free-energy
/// barrier G [eV] at temperature T [K].
double transition_state_rate(double barrier_eV, double temperature_K);

/// Returns the ideal-gas free-energy correction of a gas at temperature T
/// and p0 = 101325 Pa: -kB T ln(q_trans q_rot q_vib) [eV]; 0 when the model
/// turns the correction off for this gas.
double gas_free_energy_correction(const Gas& gas, double temperature_K);

/// Computes the rate constants of every step of model at its temperature.
RateConstants compute_rate_constants(const Model& model);

}  // namespace mkmap
