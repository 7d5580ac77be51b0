#pragma once
// The in-memory form of a mean-field microkinetic model and its 2D scan.
//
// Energies are in eV, temperature in K, pressures are dimensionless
// activities p/p0 with p0 = 101325 Pa, areas in m^2, masses in amu.

#include <array>
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

  /// Index into gases of the product whose TOF is mapped.
  int product = -1;

  /// Axis 0 is x (columns), axis 1 is y (rows).
  std::array<ScanAxis, 2> scan;
};

}  // namespace mkmap
