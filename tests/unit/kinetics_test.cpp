// Rate constants, gas corrections and steady states against the SCAKS
// reference values of the default model, plus analytic Langmuir cases.

#include <catch2/catch.hpp>
#include <cmath>

#include "kinetics/network.hpp"
#include "kinetics/point_solver.hpp"
#include "kinetics/rate_constants.hpp"
#include "kinetics/steady_state.hpp"
#include "model/parser.hpp"

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
