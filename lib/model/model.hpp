#pragma once
// The in-memory form of a mean-field microkinetic model and its 2D scan.
//
// Energies are in eV, temperature in K, pressures are dimensionless
// activities p/p0 with p0 = 101325 Pa, areas in m^2, masses in amu.

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mkmap {

/// A site type with its total coverage (number of sites per unit cell,
/// relative to the reference site) [dimensionless].
struct SiteType {
  std::string name;
  double total = 1.0;
};

/// Ideal-gas data for the free-energy correction of a gas.
struct GasThermo {
  /// False when the model turns the correction off for this gas.
  bool enabled = true;
  /// True when the model gives symmetry and rotational and vibrational
  /// temperatures; only steps under collision theory need them.
  bool data_given = false;
  int symmetry = 1;
  /// One value for a linear molecule, three for a nonlinear one [K].
  std::vector<double> rotational_temperatures_K;
  /// Vibrational temperatures [K].
  std::vector<double> vibrational_temperatures_K;
};

struct Gas {
  std::string name;
  /// Partial pressure as activity p/p0, p0 = 101325 Pa [dimensionless].
  double pressure = 0.0;
  /// Molecular mass from standard atomic masses [amu].
  double mass_amu = 0.0;
  std::map<std::string, int> elements;
  GasThermo thermo;
  /// Line of the gas in the model file (1-based), 0 when unknown.
  int line = 0;
};

struct Adsorbate {
  std::string name;
  /// Index into Model::sites.
  int site = 0;
  /// Number of sites of that type one adsorbate occupies.
  int site_count = 1;
  std::map<std::string, int> elements;
};

/// What a term of a reaction state refers to.
enum class TermKind { gas, adsorbate, free_site, transition_state };

/// One `[coefficient]name_[sites]label` term of a state.
struct Term {
  TermKind kind = TermKind::gas;
  /// Index into Model::gases, Model::adsorbates or Model::sites
  /// (free_site); -1 for a transition state.
  int index = -1;
  int coefficient = 1;
  /// The term as written, for messages.
  std::string text;
};

/// Rule that turns a step's input into its rate constants.
enum class RateRule {
  /// Transition-state theory for surface steps and desorption, collision
  /// theory for adsorption, with ideal-gas corrections for the gases.
  collision,
  /// kf = kB T/h exp(-Ga/kT) and kr = kB T/h exp(-(Ga - dG)/kT) for every
  /// step, with Ga and dG taken as complete free energies.
  transition_state,
  /// kf and kr as given in the model, at every temperature.
  given,
};

/// An elementary step `IS -> FS` or `IS <-> TS -> FS`, always reversible.
struct Step {
  std::string equation;
  std::vector<Term> initial;
  std::vector<Term> transition;  ///< empty when the step has no TS
  std::vector<Term> final;
  /// Forward free-energy barrier as given, after the rule that an uphill
  /// step with Ga = 0 takes Ga = dG [eV].
  double Ga_eV = 0.0;
  /// Reaction free energy [eV].
  double dG_eV = 0.0;
  RateRule rule = RateRule::collision;
  /// Forward and reverse rate constants when rule == given [1/s, with gas
  /// activities p/p0 and coverages in the mass-action rate].
  double kf = 0.0;
  double kr = 0.0;
  /// Line of the step in the model file (1-based), 0 when unknown.
  int line = 0;
};

/// The condition one scan axis varies.
enum class AxisVariable { pressure, temperature };
enum class AxisSpacing { linear, logarithmic };

/// One axis of the 2D scan.
struct ScanAxis {
  AxisVariable variable = AxisVariable::pressure;
  /// Index into Model::gases when variable == pressure, else -1.
  int gas = -1;
  double from = 0.0;  ///< first value [p/p0 or K]
  double to = 0.0;    ///< last value [p/p0 or K]
  int points = 1;
  AxisSpacing spacing = AxisSpacing::linear;
};

/// Set of initial coverages the steady-state search starts from.
enum class StartSet {
  /// Only the initial coverages (clean surface unless the model sets some).
  initial,
  /// The initial coverages, each adsorbate saturating its site type, and
  /// random coverages; distinct stable steady states are all reported.
  all,
};

/// Steady-state settings a model file may set under `solver`.
struct SolverSettings {
  /// Largest accepted |dtheta/dt| divided by the gross flux through the
  /// adsorbate [dimensionless].
  double residual_tolerance = 1e-8;
  StartSet starts = StartSet::initial;
  /// Random starts in addition to the fixed ones when starts == all.
  int random_starts = 4;
  /// Seed of the random starts; the same seed gives the same starts.
  std::uint64_t seed = 1;
};

struct Model {
  /// Display name of the source ("<embedded default model>" or a file path).
  std::string source_name;
  /// The YAML text the model was parsed from.
  std::string source_text;

  double temperature_K = 0.0;
  double cell_area_m2 = 0.0;
  /// Active fraction of the unit cell used in collision theory, (0, 1].
  double active_ratio = 1.0;

  std::vector<SiteType> sites;
  std::vector<Gas> gases;
  std::vector<Adsorbate> adsorbates;
  std::vector<Step> steps;
  /// Rule of the steps that do not set their own [collision or
  /// transition_state].
  RateRule default_rule = RateRule::collision;
  /// Initial coverage of each adsorbate in adsorbates order; free sites take
  /// the rest of each site type. Empty for a clean surface.
  std::vector<double> initial_coverages;
  SolverSettings solver;

  /// Index into gases of the product whose TOF is mapped.
  int product = -1;

  /// Axis 0 is x (columns), axis 1 is y (rows).
  std::array<ScanAxis, 2> scan;
};

}  // namespace mkmap
