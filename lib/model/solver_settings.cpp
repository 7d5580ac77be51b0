#include "model/solver_settings.hpp"

#include <cctype>
#include <iomanip>
#include <sstream>
#include <stdexcept>

#include "model/equation.hpp"
#include "model/formula.hpp"

namespace mkmap {
namespace {

// Initial coverages may exceed a site total by this relative amount, so that
// fractions such as 1/3 written in decimal still fit.
constexpr double kTotalSlack = 1e-12;
// Largest residual tolerance a model may set: above it a point's rates do
// not balance well enough to call it a steady state.
constexpr double kMaxResidualTolerance = 1e-3;
// Smallest residual tolerance: a few units of long double rounding (1.1e-19)
// times the terms of a rate balance.
constexpr double kMinResidualTolerance = 1e-17;
constexpr int kMaxRandomStarts = 1000;

int find_site(const Model& model, const std::string& name) {
  for (std::size_t s = 0; s < model.sites.size(); ++s) {
    if (model.sites[s].name == name) return static_cast<int>(s);
  }
  return -1;
}

// Returns the adsorbate a key such as CO_s or O2_2s names, adding a
// spectator adsorbate when no reaction names it.
int resolve_adsorbate(const YamlReader& reader, const YAML::Node& key, Model& model) {
  const std::string text = key.Scalar();
  TermSyntax term;
  try {
    term = parse_term(text);
  } catch (const std::invalid_argument& error) {
    reader.fail(key, text, error.what());
  }

  const bool coefficient_written = std::isdigit(static_cast<unsigned char>(text.front()));
  if (term.label == "g" || term.name == "*" || term.name.find('-') != std::string::npos ||
      coefficient_written) {
    reader.fail(key, text,
                "an initial coverage needs an adsorbate term such as CO_s or "
                "O2_2s, without a coefficient; gases, free sites and "
                "transition states have no initial coverage");
  }

  const int site = find_site(model, term.label);
  if (site < 0) {
    reader.fail(key, text,
                "site type '" + term.label + "' is not declared in sites; "
                "declare it there or fix the label");
  }

  for (std::size_t i = 0; i < model.adsorbates.size(); ++i) {
    const Adsorbate& known = model.adsorbates[i];
    if (known.name != term.name || known.site != site) continue;
    if (known.site_count != term.site_count) {
      reader.fail(key, text,
                  "adsorbate " + term.name + " occupies " +
                      std::to_string(known.site_count) +
                      " site(s) in the reactions; write it the same way here");
    }
    return static_cast<int>(i);
  }

  // No reaction names it: a spectator that only blocks sites.
  Adsorbate spectator;
  spectator.name = term.name;
  spectator.site = site;
  spectator.site_count = term.site_count;
  try {
    spectator.elements = parse_formula(term.name);
  } catch (const std::invalid_argument& error) {
    reader.fail(key, text, error.what());
  }
  model.adsorbates.push_back(spectator);
  return static_cast<int>(model.adsorbates.size() - 1);
}

}  // namespace

void parse_initial_coverages(const YamlReader& reader, const YAML::Node& node,
                             Model& model) {
  reader.check_named_map(node, "initial_coverages", "{CO_s: 0.1}");
  std::vector<std::pair<int, double>> values;
  for (const auto& entry : node) {
    const int adsorbate = resolve_adsorbate(reader, entry.first, model);
    const double coverage = reader.number(entry.second, entry.first.Scalar());
    if (coverage < 0.0) {
      reader.fail(entry.second, entry.second.Scalar(), "a coverage must be >= 0");
    }
    values.emplace_back(adsorbate, coverage);
  }

  model.initial_coverages.assign(model.adsorbates.size(), 0.0);
  std::vector<double> occupied(model.sites.size(), 0.0);
  for (const auto& [adsorbate, coverage] : values) {
    model.initial_coverages[adsorbate] = coverage;
    occupied[model.adsorbates[adsorbate].site] +=
        model.adsorbates[adsorbate].site_count * coverage;
  }
  for (std::size_t s = 0; s < model.sites.size(); ++s) {
    const double total = model.sites[s].total;
    if (occupied[s] > total * (1.0 + kTotalSlack)) {
      std::ostringstream problem;
      problem << std::setprecision(6) << "initial coverages on site type '"
              << model.sites[s].name << "' occupy " << occupied[s]
              << " sites, more than its total " << total << "; lower them";
      reader.fail(node, "initial_coverages", problem.str());
    }
  }
}

void parse_solver_settings(const YamlReader& reader, const YAML::Node& node,
                           Model& model) {
  reader.check_map(node, "solver", {"residual_tolerance", "starts", "random_starts", "seed"});
  SolverSettings& settings = model.solver;

  if (const YAML::Node tolerance = node["residual_tolerance"]; tolerance.IsDefined()) {
    settings.residual_tolerance = reader.number(tolerance, "residual_tolerance");
    if (!(settings.residual_tolerance >= kMinResidualTolerance &&
          settings.residual_tolerance <= kMaxResidualTolerance)) {
      reader.fail(tolerance, tolerance.Scalar(),
                  "residual_tolerance must be from 1e-17 to 1e-3 (relative to the "
                  "gross flux through each adsorbate)");
    }
  }
  if (const YAML::Node starts = node["starts"]; starts.IsDefined()) {
    const std::string name = reader.scalar(starts, "starts");
    if (name == "initial") {
      settings.starts = StartSet::initial;
    } else if (name == "all") {
      settings.starts = StartSet::all;
    } else {
      reader.fail(starts, name,
                  "unknown starts; use initial (the initial coverages only) or "
                  "all (also saturated and random coverages, to find every "
                  "stable steady state)");
    }
  }
  if (const YAML::Node count = node["random_starts"]; count.IsDefined()) {
    settings.random_starts = reader.integer(count, "random_starts");
    if (settings.random_starts < 0 || settings.random_starts > kMaxRandomStarts) {
      reader.fail(count, count.Scalar(), "random_starts must be from 0 to 1000");
    }
  }
  if (const YAML::Node seed = node["seed"]; seed.IsDefined()) {
    const int value = reader.integer(seed, "seed");
    if (value < 0) reader.fail(seed, seed.Scalar(), "seed must be >= 0");
    settings.seed = static_cast<std::uint64_t>(value);
  }
}

}  // namespace mkmap
