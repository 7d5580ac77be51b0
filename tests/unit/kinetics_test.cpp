// Rate constants, gas corrections and steady states against the SCAKS
// reference values of the default model, plus analytic Langmuir cases.

#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <map>

#include "kinetics/network.hpp"
#include "kinetics/point_solver.hpp"
#include "kinetics/rate_constants.hpp"
#include "kinetics/steady_state.hpp"
#include "model/parser.hpp"
#include "model/scan.hpp"

using namespace mkmap;

namespace {

double relative_error(double value, double reference) {
  return std::abs(value - reference) / std::abs(reference);
}

int gas_index(const Model& model, const std::string& name) {
  for (int i = 0; i < static_cast<int>(model.gases.size()); ++i) {
    if (model.gases[i].name == name) return i;
  }
  FAIL("no gas " << name);
  return -1;
}

// The default model at the SCAKS reference point, whose pressures are the
// model file's own.
Model reference_model() {
  Model model = default_model();
  REQUIRE(model.gases[gas_index(model, "CO")].pressure == 1.32e-7);
  REQUIRE(model.gases[gas_index(model, "O2")].pressure == 5.26e-7);
  REQUIRE(model.gases[gas_index(model, "CO2")].pressure == 1.32e-7);
  return model;
}

// One gas A adsorbing on one site type without the gas correction.
Model langmuir_model(double pressure, double dG_eV) {
  const std::string yaml =
      "temperature: 500\n"
      "cell_area: 9.0e-20\n"
      "active_ratio: 1.0\n"
      "sites:\n  s: {total: 1.0}\n"
      "gases:\n  CO: {pressure: " + std::to_string(pressure) + ", correction: false}\n"
      "reactions:\n  - {equation: \"CO_g + *_s -> CO_s\", Ga: 0.0, dG: " +
      std::to_string(dG_eV) + "}\n"
      "product: CO\n"
      "scan:\n"
      "  x: {variable: CO, from: 0.1, to: 1.0, points: 2}\n"
      "  y: {variable: T, from: 400, to: 500, points: 2}\n";
  return parse_model_text(yaml, "langmuir.yaml");
}

}  // namespace

TEST_CASE("rate constants match SCAKS reference", "[kinetics]") {
  const Model model = reference_model();
  const RateConstants k = compute_rate_constants(model);
  REQUIRE(k.forward.size() == 3);

  CHECK(relative_error(k.forward[0], 9.02356657025331e7) < 1e-10);
  CHECK(relative_error(k.reverse[0], 1.3081000299026958e-5) < 1e-10);
  CHECK(relative_error(k.forward[1], 1.6630285069181869e7) < 1e-10);
  CHECK(relative_error(k.reverse[1], 4.3590263268081437e-9) < 1e-10);
  CHECK(relative_error(k.forward[2], 1.2211523229673036e9) < 1e-10);
  CHECK(relative_error(k.reverse[2], 1.4803439985645030e-6) < 1e-10);
}

TEST_CASE("gas corrections match SCAKS reference", "[kinetics]") {
  const Model model = reference_model();
  const double T = model.temperature_K;
  CHECK(relative_error(gas_free_energy_correction(model.gases[gas_index(model, "CO")], T),
                       -0.8162598159659645) < 1e-10);
  CHECK(relative_error(gas_free_energy_correction(model.gases[gas_index(model, "O2")], T),
                       -0.844147378130546) < 1e-10);
  CHECK(relative_error(gas_free_energy_correction(model.gases[gas_index(model, "CO2")], T),
                       -1.0198672830114768) < 1e-10);
}

TEST_CASE("gas correction off gives zero", "[kinetics]") {
  const Model model = langmuir_model(0.5, -1.0);
  CHECK(gas_free_energy_correction(model.gases[0], 500.0) == 0.0);
}

TEST_CASE("steady state matches SCAKS reference", "[kinetics]") {
  const Model model = reference_model();
  const SteadyState state = solve_steady_state(model);
  INFO(state.reason);
  REQUIRE(state.status == PointStatus::converged);
  REQUIRE(state.coverages.size() == 3);

  CHECK(relative_error(state.coverages[0], 2.08062027496078506e-8) < 1e-6);
  CHECK(relative_error(state.coverages[1], 0.319173051647554751) < 1e-6);
  CHECK(relative_error(state.coverages[2], 0.680826927546242499) < 1e-6);
  CHECK(relative_error(state.tof, 8.10940297666532792) < 1e-6);
}

TEST_CASE("steady state conserves sites and is stable", "[kinetics]") {
  const Model model = reference_model();
  const SteadyState state = solve_steady_state(model);
  REQUIRE(state.status == PointStatus::converged);

  CHECK(std::abs(state.coverages.sum() - 1.0) < 1e-12);
  CHECK(state.max_eigenvalue_real < 0.0);
  CHECK(state.residual <= model.solver.residual_tolerance);

  // An independent check of the residual: every adsorbate's dtheta/dt is
  // tiny next to the largest elementary rate.
  const Network network(model);
  Eigen::VectorXd dxdt, forward, reverse;
  network.derivative(state.coverages, dxdt);
  network.rates(state.coverages, forward, reverse);
  const double largest_rate = std::max(forward.maxCoeff(), reverse.maxCoeff());
  CHECK(dxdt.cwiseAbs().maxCoeff() < 1e-9 * largest_rate);
}

TEST_CASE("Langmuir isotherm is reproduced", "[kinetics]") {
  for (double pressure : {1e-6, 1e-3, 0.5}) {
    for (double dG : {-1.5, -0.5, 0.3}) {
      const Model model = langmuir_model(pressure, dG);
      const RateConstants k = compute_rate_constants(model);
      const double K = k.forward[0] * pressure / k.reverse[0];
      const double expected = K / (1.0 + K);

      const SteadyState state = solve_steady_state(model);
      INFO("p = " << pressure << ", dG = " << dG << ": " << state.reason);
      REQUIRE(state.status == PointStatus::converged);
      CHECK(relative_error(state.coverages[0], expected) < 1e-9);
      CHECK(relative_error(state.coverages[1], 1.0 / (1.0 + K)) < 1e-9);
      // At equilibrium with its only gas the net adsorption rate vanishes.
      CHECK(std::abs(state.tof) <= 1e-9 * k.forward[0] * pressure);
    }
  }
}

TEST_CASE("default map points all converge", "[kinetics]") {
  const Model model = default_model();
  const std::vector<GridPoint> points = grid_points(model);
  REQUIRE(points.size() == 100);
  for (const GridPoint& point : points) {
    const PointResult result = solve_point(model, point);
    INFO("point " << point.index << " at (" << point.x << ", " << point.y
                  << "): " << result.reason);
    CHECK(result.status == PointStatus::converged);
    CHECK(result.tof >= 0.0);
  }
}

TEST_CASE("solve point reports a failure as a value", "[kinetics]") {
  const Model model = default_model();
  SolverOptions options;
  options.max_integrator_steps = 1;
  options.max_newton_iterations = 1;
  const PointResult result = solve_point(model, {0, 0.3, 0.3}, options);
  CHECK(result.status == PointStatus::failed);
  CHECK_FALSE(result.reason.empty());
}

namespace {

// Returns a model of tests/models, whose header comments derive its exact
// steady state.
Model analytic_model(const std::string& name) {
  return parse_model_file(std::string(MKMAP_SOURCE_DIR) + "/tests/models/" + name);
}

// Solves model and requires an accepted steady state with clean checks.
SteadyState solve_checked(const Model& model) {
  const SteadyState state = solve_steady_state(model);
  INFO(model.source_name << ": " << state.reason);
  REQUIRE(state.status == PointStatus::converged);
  CHECK(state.residual <= model.solver.residual_tolerance);
  CHECK(state.site_sum_error <= 1e-12);
  CHECK(state.balance_error <= 1e-6);
  CHECK(state.max_eigenvalue_real < 0.0);
  return state;
}

}  // namespace

TEST_CASE("Langmuir with given constants", "[kinetics][analytic]") {
  const SteadyState state = solve_checked(analytic_model("ref_langmuir.yaml"));
  CHECK(relative_error(state.coverages[0], 2.0 / 3.0) < 1e-10);
  CHECK(relative_error(state.coverages[1], 1.0 / 3.0) < 1e-10);
}

TEST_CASE("dissociative Langmuir", "[kinetics][analytic]") {
  const SteadyState state = solve_checked(analytic_model("ref_dissociative.yaml"));
  CHECK(relative_error(state.coverages[0], 2.0 / 3.0) < 1e-10);
  CHECK(relative_error(state.coverages[1], 1.0 / 3.0) < 1e-10);
}

TEST_CASE("detailed balance at gas equilibrium", "[kinetics][analytic]") {
  const Model model = analytic_model("ref_equilibrium_cycle.yaml");
  const SteadyState state = solve_checked(model);
  CHECK(relative_error(state.coverages[0], 1.0 / 11.0) < 1e-10);
  CHECK(relative_error(state.coverages[1], 5.0 / 11.0) < 1e-10);
  CHECK(relative_error(state.coverages[2], 5.0 / 11.0) < 1e-10);
  REQUIRE(state.reversibilities.size() == 4);
  Eigen::VectorXd forward, reverse;
  Network(model).rates(state.coverages, forward, reverse);
  for (std::size_t j = 0; j < 4; ++j) {
    INFO("step " << j + 1);
    CHECK(std::abs(state.reversibilities[j] - 1.0) < 1e-9);
    CHECK(std::abs(state.net_rates[j]) < 1e-9 * forward[j]);
  }
}

TEST_CASE("slow adsorption relaxes for hours", "[kinetics][analytic]") {
  const SteadyState state = solve_checked(analytic_model("ref_slow_adsorption.yaml"));
  CHECK(relative_error(state.coverages[0], 0.9) < 1e-10);
  CHECK(relative_error(state.coverages[1], 0.1) < 1e-10);
}

TEST_CASE("spectator adsorbate is held", "[kinetics][analytic]") {
  const Model model = analytic_model("ref_spectator.yaml");
  const SteadyState state = solve_checked(model);
  int spectator = -1;
  for (int a = 0; a < static_cast<int>(model.adsorbates.size()); ++a) {
    if (model.adsorbates[a].name == "S") spectator = a;
  }
  REQUIRE(spectator >= 0);
  CHECK(state.held == std::vector<int>{spectator});
  CHECK(state.coverages[spectator] == 0.3);
  const int co = spectator == 0 ? 1 : 0;
  CHECK(relative_error(state.coverages[co], 1.4 / 3.0) < 1e-10);
  CHECK(relative_error(state.coverages[2], 0.7 / 3.0) < 1e-10);
}

TEST_CASE("site type with total 0.05", "[kinetics][analytic]") {
  const Model model = analytic_model("ref_two_site_types.yaml");
  const SteadyState state = solve_checked(model);
  const Network network(model);
  std::map<std::string, double> expected = {
      {"CO_t", 0.0375}, {"CO_s", 0.6}, {"H_s", 0.2}};
  for (int a = 0; a < static_cast<int>(model.adsorbates.size()); ++a) {
    const std::string key =
        model.adsorbates[a].name + "_" + model.sites[model.adsorbates[a].site].name;
    INFO(key);
    REQUIRE(expected.count(key) == 1);
    CHECK(relative_error(state.coverages[a], expected[key]) < 1e-10);
  }
  for (int s = 0; s < static_cast<int>(model.sites.size()); ++s) {
    const double free = state.coverages[network.free_site_index(s)];
    CHECK(relative_error(free, model.sites[s].name == "t" ? 0.0125 : 0.2) < 1e-10);
  }
}

TEST_CASE("bistable network gives both stable branches", "[kinetics][analytic]") {
  const Model model = analytic_model("ref_bistable.yaml");
  REQUIRE(model.solver.starts == StartSet::all);
  const SteadyState state = solve_checked(model);

  // The stable roots (theta_CO, theta_O, theta_*) are (9/10, 1/40, 3/40)
  // with TOF 0.45 and (2/5, 2/5, 1/5) with TOF 3.2; the root with TOF
  // 2.8125 between them is unstable.
  REQUIRE(state.stable_states == 2);
  REQUIRE(state.branches.size() == 2);
  CHECK(relative_error(state.branches[0].tof, 0.45) < 1e-9);
  CHECK(relative_error(state.branches[1].tof, 3.2) < 1e-9);
  CHECK(relative_error(state.branches[0].coverages[0], 0.9) < 1e-9);
  CHECK(relative_error(state.branches[1].coverages[1], 0.4) < 1e-9);
  // On the clean surface O2 adsorbs faster (80 theta_*^2 O atoms per
  // second against 18 theta_* CO), so the clean start reaches the branch
  // with TOF 3.2, and that branch is the one reported.
  CHECK(relative_error(state.tof, 3.2) < 1e-9);
}

TEST_CASE("one start reports one stable state", "[kinetics][analytic]") {
  Model model = analytic_model("ref_bistable.yaml");
  model.solver.starts = StartSet::initial;
  const SteadyState state = solve_checked(model);
  CHECK(state.stable_states == 1);
  CHECK(relative_error(state.tof, 3.2) < 1e-9);
}

TEST_CASE("tst rule for every step", "[kinetics][analytic]") {
  const Model model = analytic_model("ref_tst.yaml");
  const RateConstants k = compute_rate_constants(model);
  const double kT = 8.6173324e-5 * 500.0;
  const double prefactor = kT / 4.135667662e-15;
  REQUIRE(k.forward.size() == 4);
  CHECK(relative_error(k.forward[0], prefactor * std::exp(-0.5 / kT)) < 1e-12);
  CHECK(relative_error(k.reverse[0], prefactor * std::exp(-0.8 / kT)) < 1e-12);
  // Ga = 0 with dG = 0.2 > 0 becomes Ga = dG.
  CHECK(relative_error(k.forward[1], prefactor * std::exp(-0.2 / kT)) < 1e-12);
  CHECK(relative_error(k.reverse[1], prefactor) < 1e-12);
  CHECK(relative_error(k.forward[2], prefactor * std::exp(-0.9 / kT)) < 1e-12);
  CHECK(relative_error(k.reverse[2], prefactor * std::exp(-1.3 / kT)) < 1e-12);
  CHECK(k.forward[3] == 5.0e2);
  CHECK(k.reverse[3] == 0.0);
}

TEST_CASE("rate rules mixed per step", "[kinetics][analytic]") {
  const Model model = analytic_model("ref_rules.yaml");
  const RateConstants k = compute_rate_constants(model);
  const double T = 500.0;
  const double kT = 8.6173324e-5 * T;
  const double prefactor = kT / 4.135667662e-15;
  const double co_correction = -0.8162598159659645;
  const double co2_correction = -1.0198672830114768;
  CHECK(relative_error(k.forward[0], prefactor * std::exp(-0.5 / kT)) < 1e-12);
  CHECK(relative_error(k.reverse[0], prefactor * std::exp(-0.8 / kT)) < 1e-12);
  CHECK(k.forward[1] == 1.0e3);
  CHECK(k.reverse[1] == 1.0e-3);
  CHECK(relative_error(k.forward[2], prefactor * std::exp(-0.9 / kT)) < 1e-12);
  CHECK(relative_error(k.reverse[2], prefactor * std::exp(-(1.3 - co2_correction) / kT)) < 1e-9);
  // Eley-Rideal with CO in the IS: collision theory with the mass of CO.
  const double mass_kg = (12.0107 + 15.9994) * 1.66053904e-27;
  const double kf = 0.5 * std::exp(-0.3 / kT) * 101325.0 * 9.0e-20 /
                    std::sqrt(2.0 * M_PI * mass_kg * 1.38064852e-23 * T);
  const double equivalent = -kT * std::log(kf * 4.135667662e-15 / kT);
  const double reverse = std::max(equivalent - (-1.5 - co_correction), 0.0);
  CHECK(relative_error(k.forward[3], kf) < 1e-12);
  CHECK(relative_error(k.reverse[3], prefactor * std::exp(-reverse / kT)) < 1e-9);
}

TEST_CASE("tolerance below double rounding uses long double", "[kinetics]") {
  Model model = reference_model();
  model.solver.residual_tolerance = 1e-16;
  const SteadyState state = solve_steady_state(model);
  INFO(state.reason);
  REQUIRE(state.status == PointStatus::converged);
  CHECK(state.precision == Precision::extended_precision);
  CHECK(state.residual <= 1e-16);
  CHECK(relative_error(state.coverages[1], 0.319173051647554751) < 1e-6);
  CHECK(relative_error(state.tof, 8.10940297666532792) < 1e-6);
}

TEST_CASE("default tolerance stays in double", "[kinetics]") {
  const SteadyState state = solve_steady_state(reference_model());
  REQUIRE(state.status == PointStatus::converged);
  CHECK(state.precision == Precision::double_precision);
}

namespace {

// Returns the coverage of "name_site" (an adsorbate) or "*_site" (free sites).
double coverage_of(const Model& model, const SteadyState& state, const std::string& key) {
  for (int a = 0; a < static_cast<int>(model.adsorbates.size()); ++a) {
    if (model.adsorbates[a].name + "_" + model.sites[model.adsorbates[a].site].name == key) {
      return state.coverages[a];
    }
  }
  for (int s = 0; s < static_cast<int>(model.sites.size()); ++s) {
    if ("*_" + model.sites[s].name == key) {
      return state.coverages[static_cast<int>(model.adsorbates.size()) + s];
    }
  }
  FAIL("no coverage " << key);
  return 0.0;
}

}  // namespace

TEST_CASE("species on two sites", "[kinetics][analytic]") {
  const Model model = analytic_model("ref_multisite.yaml");
  const SteadyState state = solve_checked(model);
  CHECK(relative_error(coverage_of(model, state, "O2_s"), 0.25) < 1e-10);
  CHECK(relative_error(coverage_of(model, state, "*_s"), 0.5) < 1e-10);
}

TEST_CASE("conservation law beyond site totals", "[kinetics][analytic]") {
  const Model model = analytic_model("ref_conserved_law.yaml");
  REQUIRE(model.solver.starts == StartSet::all);
  const SteadyState state = solve_checked(model);
  CHECK(state.stable_states == 1);
  CHECK(relative_error(coverage_of(model, state, "CO_t"), 1.0 / 42.0) < 1e-10);
  CHECK(relative_error(coverage_of(model, state, "CO_s"), 10.0 / 21.0) < 1e-10);
  CHECK(relative_error(coverage_of(model, state, "*_s"), 11.0 / 21.0) < 1e-10);
  CHECK(relative_error(coverage_of(model, state, "*_t"), 11.0 / 420.0) < 1e-10);
  CHECK(relative_error(coverage_of(model, state, "H_u"), 2.0 / 3.0) < 1e-10);
}

TEST_CASE("poisoned surface keeps tiny coverages exact", "[kinetics]") {
  // At 150 K and pCO = 1e-5 CO covers the surface, and the rate constants
  // span 78 orders of magnitude. With theta_CO = 1 to 60 digits, the CO
  // balance gives theta_* = kr1 / (kf1 pCO), about 1e-62, and the O balance
  // gives TOF = 2 kf2 pO2 theta_*^2; the neglected terms are 1e-60 smaller.
  // An absolute residual tolerance would accept any tiny theta_* here.
  Model model = default_model();
  model.temperature_K = 150.0;
  model.gases[gas_index(model, "CO")].pressure = 1e-5;
  const double pO2 = model.gases[gas_index(model, "O2")].pressure;
  const RateConstants k = compute_rate_constants(model);
  const double largest = std::max({k.forward[0], k.forward[1], k.forward[2]});
  const double smallest = std::min({k.reverse[0], k.reverse[1], k.reverse[2]});
  REQUIRE(largest / smallest > 1e60);

  const SteadyState state = solve_checked(model);
  const double free_sites = k.reverse[0] / (k.forward[0] * 1e-5);
  CHECK(relative_error(state.coverages[2], free_sites) < 1e-8);
  CHECK(relative_error(state.tof, 2.0 * k.forward[1] * pO2 * free_sites * free_sites) < 1e-8);
}

TEST_CASE("stress grid converges with no negative coverage", "[kinetics]") {
  // Temperature from 150 to 900 K against pCO from 1e-10 to 1e2 on a
  // coarse grid: every point must converge, quickly and physically.
  Model model = default_model();
  model.scan[0] = parse_axis_override("T:150:900:6", model);
  model.scan[1] = parse_axis_override("CO:1e-10:1e2:7:log", model);
  for (const GridPoint& point : grid_points(model)) {
    const PointResult result = solve_point(model, point);
    INFO("T = " << point.x << " K, pCO = " << point.y << ": " << result.reason);
    REQUIRE(result.status == PointStatus::converged);
    CHECK(result.residual <= model.solver.residual_tolerance);
    CHECK(result.site_sum_error <= 1e-10);
    for (double coverage : result.coverages) CHECK(coverage >= 0.0);
    CHECK(result.solve_time_s < 1.0);
  }
}

TEST_CASE("shipped general example solves", "[kinetics]") {
  const Model model =
      parse_model_file(std::string(MKMAP_SOURCE_DIR) + "/examples/general_network.yaml");
  REQUIRE(model.solver.starts == StartSet::all);
  const std::vector<GridPoint> points = grid_points(model);
  // Corners and the centre of the scan.
  const std::size_t nx = static_cast<std::size_t>(model.scan[0].points);
  for (std::size_t index : {std::size_t{0}, nx - 1, points.size() / 2, points.size() - 1}) {
    const PointResult result = solve_point(model, points.at(index));
    INFO("point " << index << ": " << result.reason);
    CHECK(result.status == PointStatus::converged);
    CHECK(result.branch_tofs.size() >= 1);
    CHECK(result.coverages[3] == 0.1);  // the S spectator is held
  }
}

TEST_CASE("point time limit gives a failure", "[kinetics]") {
  SolverOptions options;
  options.max_solve_time_s = 0.0;
  const SteadyState state = solve_steady_state(reference_model(), options);
  CHECK(state.status == PointStatus::failed);
  CHECK_THAT(state.reason, Catch::Matchers::Contains("point time limit"));
}
