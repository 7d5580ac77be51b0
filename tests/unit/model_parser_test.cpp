#include <fstream>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include "model/parser.hpp"

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using mkmap::ModelError;
using mkmap::TermKind;

namespace {

// A valid model with one item per line, so a test that edits one item can
// state the line that the error must name.
const std::string kBaseModel =
    R"(temperature: 500
cell_area: 9.0e-20
active_ratio: 0.5
sites:
  s: {total: 1.0}
gases:
  CO: {pressure: 0.1, symmetry: 1, rotational_temperatures: [2.78], vibrational_temperatures: [3120]}
  O2: {pressure: 0.2, symmetry: 2, rotational_temperatures: [2.08], vibrational_temperatures: [2278]}
  CO2: {pressure: 0.0, symmetry: 2, rotational_temperatures: [0.66], vibrational_temperatures: [954, 1890, 3360]}
reactions:
  - {equation: "CO_g + *_s -> CO_s", Ga: 0.0, dG: -2.09}
  - {equation: "O2_g + 2*_s <-> O-O_2s -> 2O_s", Ga: 0.07, dG: -2.39}
  - {equation: "CO_s + O_s <-> CO-O_2s -> CO2_g + 2*_s", Ga: 0.39, dG: -0.46}
product: CO2
scan:
  x: {variable: CO, from: 1.0e-5, to: 0.5, points: 10}
  y: {variable: O2, from: 1.0e-5, to: 0.5, points: 10, spacing: linear}
)";

// Returns kBaseModel with the first occurrence of from replaced by to.
std::string edited(const std::string& from, const std::string& to) {
  std::string text = kBaseModel;
  const std::size_t pos = text.find(from);
  REQUIRE(pos != std::string::npos);
  text.replace(pos, from.size(), to);
  return text;
}

// Returns the message of the ModelError that parsing text throws.
std::string error_message(const std::string& text) {
  try {
    mkmap::parse_model_text(text, "test.yaml");
  } catch (const ModelError& error) {
    return error.what();
  }
  FAIL("parse_model_text accepted the model");
  return "";
}

std::string read_file(const std::string& path) {
  std::ifstream file(path);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

const std::string kSourceDir = MKMAP_SOURCE_DIR;

}  // namespace

TEST_CASE("default model conditions", "[model][parser]") {
  const mkmap::Model model = mkmap::default_model();

  CHECK(model.source_name == "<embedded default model>");
  CHECK(model.temperature_K == 500.0);
  CHECK(model.cell_area_m2 == 9.0e-20);
  CHECK(model.active_ratio == Approx(4.0 / 9.0).epsilon(1e-15));
  REQUIRE(model.sites.size() == 1);
  CHECK(model.sites[0].name == "s");
  CHECK(model.sites[0].total == 1.0);
}

TEST_CASE("default model gases", "[model][parser]") {
  const mkmap::Model model = mkmap::default_model();

  REQUIRE(model.gases.size() == 3);
  const mkmap::Gas& co = model.gases[0];
  const mkmap::Gas& o2 = model.gases[1];
  const mkmap::Gas& co2 = model.gases[2];
  CHECK(co.name == "CO");
  CHECK(o2.name == "O2");
  CHECK(co2.name == "CO2");

  CHECK(co.mass_amu == Approx(28.0101).epsilon(1e-12));
  CHECK(o2.mass_amu == Approx(31.9988).epsilon(1e-12));
  CHECK(co2.mass_amu == Approx(44.0095).epsilon(1e-12));
  CHECK(co2.elements == std::map<std::string, int>{{"C", 1}, {"O", 2}});

  CHECK(co.pressure == 1.32e-7);
  CHECK(o2.pressure == 5.26e-7);
  CHECK(co2.pressure == 1.32e-7);

  CHECK(co.thermo.enabled);
  CHECK(co.thermo.symmetry == 1);
  CHECK(co.thermo.rotational_temperatures_K == std::vector<double>{2.78});
  CHECK(co.thermo.vibrational_temperatures_K == std::vector<double>{3120});
  CHECK(o2.thermo.symmetry == 2);
  CHECK(co2.thermo.vibrational_temperatures_K ==
        std::vector<double>{954, 1890, 3360});
  CHECK(model.product == 2);
}

TEST_CASE("default model adsorbates", "[model][parser]") {
  const mkmap::Model model = mkmap::default_model();

  REQUIRE(model.adsorbates.size() == 2);
  CHECK(model.adsorbates[0].name == "CO");
  CHECK(model.adsorbates[0].site == 0);
  CHECK(model.adsorbates[0].site_count == 1);
  CHECK(model.adsorbates[0].elements ==
        std::map<std::string, int>{{"C", 1}, {"O", 1}});
  CHECK(model.adsorbates[1].name == "O");
  CHECK(model.adsorbates[1].site == 0);
  CHECK(model.adsorbates[1].site_count == 1);
}

TEST_CASE("default model steps", "[model][parser]") {
  const mkmap::Model model = mkmap::default_model();

  REQUIRE(model.steps.size() == 3);
  CHECK(model.steps[0].equation == "CO_g + *_s -> CO_s");
  CHECK(model.steps[0].Ga_eV == 0.0);
  CHECK(model.steps[0].dG_eV == -2.09);
  CHECK(model.steps[1].Ga_eV == 0.07);
  CHECK(model.steps[1].dG_eV == -2.39);
  CHECK(model.steps[2].Ga_eV == 0.39);
  CHECK(model.steps[2].dG_eV == -0.46);
  CHECK(model.steps[0].transition.empty());
  CHECK(model.steps[0].line > 0);
}

TEST_CASE("default model stoichiometry", "[model][parser]") {
  const mkmap::Model model = mkmap::default_model();
  REQUIRE(model.steps.size() == 3);

  // O2_g + 2*_s <-> O-O_2s -> 2O_s
  const mkmap::Step& step = model.steps[1];
  REQUIRE(step.initial.size() == 2);
  CHECK(step.initial[0].kind == TermKind::gas);
  CHECK(step.initial[0].index == 1);
  CHECK(step.initial[0].coefficient == 1);
  CHECK(step.initial[0].text == "O2_g");
  CHECK(step.initial[1].kind == TermKind::free_site);
  CHECK(step.initial[1].index == 0);
  CHECK(step.initial[1].coefficient == 2);
  REQUIRE(step.transition.size() == 1);
  CHECK(step.transition[0].kind == TermKind::transition_state);
  CHECK(step.transition[0].index == -1);
  CHECK(step.transition[0].text == "O-O_2s");
  REQUIRE(step.final.size() == 1);
  CHECK(step.final[0].kind == TermKind::adsorbate);
  CHECK(step.final[0].index == 1);
  CHECK(step.final[0].coefficient == 2);

  // CO_s + O_s <-> CO-O_2s -> CO2_g + 2*_s
  const mkmap::Step& oxidation = model.steps[2];
  REQUIRE(oxidation.initial.size() == 2);
  CHECK(oxidation.initial[0].kind == TermKind::adsorbate);
  CHECK(oxidation.initial[0].index == 0);
  CHECK(oxidation.initial[1].index == 1);
  REQUIRE(oxidation.final.size() == 2);
  CHECK(oxidation.final[0].kind == TermKind::gas);
  CHECK(oxidation.final[0].index == 2);
  CHECK(oxidation.final[1].kind == TermKind::free_site);
  CHECK(oxidation.final[1].coefficient == 2);
}

TEST_CASE("default model scan", "[model][parser]") {
  const mkmap::Model model = mkmap::default_model();

  for (const mkmap::ScanAxis& axis : model.scan) {
    CHECK(axis.variable == mkmap::AxisVariable::pressure);
    CHECK(axis.from == 1.0e-5);
    CHECK(axis.to == 0.5);
    CHECK(axis.points == 10);
    CHECK(axis.spacing == mkmap::AxisSpacing::linear);
  }
  CHECK(model.scan[0].gas == 0);
  CHECK(model.scan[1].gas == 1);
}

TEST_CASE("default model text is the example", "[model][parser]") {
  const std::string example =
      read_file(kSourceDir + "/examples/co_oxidation.yaml");

  REQUIRE(!example.empty());
  CHECK(mkmap::default_model_text() == example);
  CHECK(mkmap::default_model().source_text == example);
}

TEST_CASE("model file two site types", "[model][parser]") {
  const std::string path = kSourceDir + "/tests/data/models/two_site_types.yaml";
  const mkmap::Model model = mkmap::parse_model_file(path);

  CHECK(model.source_name == path);
  CHECK(model.active_ratio == 1.0);
  REQUIRE(model.sites.size() == 2);
  CHECK(model.sites[1].name == "h");
  CHECK(model.sites[1].total == 2.0);

  REQUIRE(model.gases.size() == 4);
  CHECK(model.gases[2].name == "CH3OH");
  CHECK(model.gases[2].elements ==
        std::map<std::string, int>{{"C", 1}, {"H", 4}, {"O", 1}});
  CHECK(model.gases[2].mass_amu ==
        Approx(12.0107 + 4 * 1.00794 + 15.9994).epsilon(1e-12));
  CHECK(model.gases[2].thermo.rotational_temperatures_K.size() == 3);
  CHECK(model.gases[3].elements == std::map<std::string, int>{{"Cl", 2}});
  CHECK(model.gases[3].mass_amu == Approx(2 * 35.453).epsilon(1e-12));
  CHECK_FALSE(model.gases[3].thermo.enabled);
  CHECK(model.product == 2);

  REQUIRE(model.adsorbates.size() == 4);
  CHECK(model.adsorbates[0].name == "H");
  CHECK(model.adsorbates[0].site == 1);
  CHECK(model.adsorbates[1].name == "CO");
  CHECK(model.adsorbates[2].name == "HCO");
  CHECK(model.adsorbates[3].name == "HCOH");

  REQUIRE(model.steps.size() == 5);
  CHECK(model.steps[0].line == 33);
  CHECK(model.scan[0].variable == mkmap::AxisVariable::temperature);
  CHECK(model.scan[1].gas == 1);
  CHECK(model.scan[1].spacing == mkmap::AxisSpacing::logarithmic);
}

TEST_CASE("uphill step without barrier", "[model][parser]") {
  const std::string path = kSourceDir + "/tests/data/models/two_site_types.yaml";
  const mkmap::Model model = mkmap::parse_model_file(path);

  // CO_s + H_h -> HCO_s + *_h is given with Ga = 0 and dG = 0.3.
  REQUIRE(model.steps.size() == 5);
  CHECK(model.steps[2].Ga_eV == 0.3);
  CHECK(model.steps[2].dG_eV == 0.3);
  // A downhill step keeps Ga = 0.
  CHECK(model.steps[1].Ga_eV == 0.0);
}

TEST_CASE("base model is valid", "[model][parser]") {
  const mkmap::Model model = mkmap::parse_model_text(kBaseModel, "test.yaml");

  CHECK(model.steps.size() == 3);
  CHECK(model.steps[0].line == 11);
  CHECK(model.steps[2].line == 13);
}

TEST_CASE("error names file line and text", "[model][errors]") {
  const std::string text =
      edited("\"CO_g + *_s -> CO_s\"", "\"CO_g + *_s -> CO2_s\"");
  try {
    mkmap::parse_model_text(text, "co.yaml");
    FAIL("parse_model_text accepted the model");
  } catch (const ModelError& error) {
    CHECK(std::string(error.what()) ==
          "co.yaml:11: \"CO_g + *_s -> CO2_s\": elements not conserved "
          "(IS has C1 O1, FS has C1 O2); check the equation");
    CHECK(error.source() == "co.yaml");
    CHECK(error.line() == 11);
    CHECK(error.text() == "CO_g + *_s -> CO2_s");
  }
}

TEST_CASE("error yaml syntax", "[model][errors]") {
  const std::string message =
      error_message(edited("  s: {total: 1.0}", "  s: {total: 1.0]"));

  CHECK_THAT(message, StartsWith("test.yaml:5: \"s: {total: 1.0]\""));
  CHECK_THAT(message, Contains("invalid YAML"));
}

TEST_CASE("error unknown top-level key", "[model][errors]") {
  const std::string message =
      error_message(edited("cell_area:", "temprature: 400\ncell_area:"));

  CHECK_THAT(message, StartsWith("test.yaml:2: \"temprature\": unknown key"));
  CHECK_THAT(message, Contains("valid keys are temperature, cell_area"));
}

TEST_CASE("error unknown gas key", "[model][errors]") {
  const std::string message =
      error_message(edited("pressure: 0.2", "presure: 0.2"));

  CHECK_THAT(message, StartsWith("test.yaml:8: \"presure\": unknown key in "
                                 "gas \"O2\""));
  CHECK_THAT(message, Contains("valid keys are pressure, symmetry"));
}

TEST_CASE("error unknown site key", "[model][errors]") {
  const std::string message = error_message(edited("{total: 1.0}", "{size: 1}"));

  CHECK_THAT(message, StartsWith("test.yaml:5: \"size\": unknown key in "
                                 "site type \"s\"; valid keys are total"));
}

TEST_CASE("error unknown reaction key", "[model][errors]") {
  const std::string message =
      error_message(edited("Ga: 0.07, dG", "Ga: 0.07, Ea: 0.1, dG"));

  CHECK_THAT(message, StartsWith("test.yaml:12: \"Ea\": unknown key in "
                                 "reaction 2; valid keys are equation, Ga, "
                                 "dG"));
}

TEST_CASE("error unknown axis key", "[model][errors]") {
  const std::string message =
      error_message(edited("points: 10}", "points: 10, steps: 3}"));

  CHECK_THAT(message, StartsWith("test.yaml:16: \"steps\": unknown key in "
                                 "scan axis x"));
  CHECK_THAT(message, Contains("variable, from, to, points, spacing"));
}

TEST_CASE("error duplicate key", "[model][errors]") {
  const std::string message =
      error_message(edited("{pressure: 0.1,", "{pressure: 0.1, pressure: 0.3,"));

  CHECK_THAT(message, StartsWith("test.yaml:7: \"pressure\": duplicate key"));
}

TEST_CASE("error missing Ga", "[model][errors]") {
  const std::string message = error_message(edited("Ga: 0.07, ", ""));

  CHECK_THAT(message, StartsWith("test.yaml:12: \"Ga\": missing in reaction 2"));
}

TEST_CASE("error missing dG", "[model][errors]") {
  const std::string message = error_message(edited(", dG: -0.46", ""));

  CHECK_THAT(message, StartsWith("test.yaml:13: \"dG\": missing in reaction 3"));
}

TEST_CASE("error missing top-level key", "[model][errors]") {
  const std::string message = error_message(edited("product: CO2\n", ""));

  CHECK_THAT(message, StartsWith("test.yaml:1: \"product\": missing in the "
                                 "model; add product:"));
}

TEST_CASE("error negative Ga", "[model][errors]") {
  const std::string message = error_message(edited("Ga: 0.39", "Ga: -0.1"));

  CHECK_THAT(message, StartsWith("test.yaml:13: \"-0.1\": Ga is a forward "
                                 "barrier and must be >= 0 eV"));
}

TEST_CASE("error gas without thermo data", "[model][errors]") {
  const std::string message = error_message(
      edited("CO2: {pressure: 0.0, symmetry: 2, rotational_temperatures: "
             "[0.66], vibrational_temperatures: [954, 1890, 3360]}",
             "CO2: {pressure: 0.0}"));

  CHECK_THAT(message, StartsWith("test.yaml:9: \"CO2\": gas has no thermo data"));
  CHECK_THAT(message, Contains("set correction: false, or use rate_constants: tst"));
}

TEST_CASE("gas without thermo data under tst", "[model][parser]") {
  const mkmap::Model model = mkmap::parse_model_text(
      "rate_constants: tst\n" +
          edited("CO2: {pressure: 0.0, symmetry: 2, rotational_temperatures: "
                 "[0.66], vibrational_temperatures: [954, 1890, 3360]}",
                 "CO2: {pressure: 0.0}"),
      "test.yaml");

  CHECK(model.default_rule == mkmap::RateRule::transition_state);
  for (const mkmap::Step& step : model.steps) {
    CHECK(step.rule == mkmap::RateRule::transition_state);
  }
  CHECK_FALSE(model.gases[2].thermo.data_given);
}

TEST_CASE("step rate rule overrides the default", "[model][parser]") {
  const mkmap::Model model = mkmap::parse_model_text(
      edited("Ga: 0.39, dG: -0.46}", "Ga: 0.39, dG: -0.46, rate_constants: tst}"),
      "test.yaml");

  CHECK(model.steps[0].rule == mkmap::RateRule::collision);
  CHECK(model.steps[2].rule == mkmap::RateRule::transition_state);
}

TEST_CASE("given rate constants", "[model][parser]") {
  const mkmap::Model model = mkmap::parse_model_text(
      edited("Ga: 0.39, dG: -0.46}", "kf: 1.5e3, kr: 0}"), "test.yaml");

  CHECK(model.steps[2].rule == mkmap::RateRule::given);
  CHECK(model.steps[2].kf == 1.5e3);
  CHECK(model.steps[2].kr == 0.0);
}

TEST_CASE("error given rate constants", "[model][errors]") {
  using Case = std::pair<std::string, std::string>;
  for (const auto& [replacement, expected] : {
           Case{"kf: 1.0, kr: 2.0, Ga: 0.39}", "test.yaml:13: \"Ga\": Ga cannot be combined "
                                               "with kf and kr"},
           Case{"kf: 1.0}", "test.yaml:13: \"kr\": missing in reaction 3; add kr:"},
           Case{"kf: -1.0, kr: 2.0}", "test.yaml:13: \"-1.0\": a rate constant must be >= 0"},
           Case{"kf: 1.0, kr: 2.0, rate_constants: tst}",
                "test.yaml:13: \"rate_constants\": rate_constants cannot be combined"},
           Case{"Ga: 0.39, dG: -0.46, rate_constants: fast}",
                "test.yaml:13: \"fast\": unknown rate_constants; use collision"},
       }) {
    const std::string message = error_message(edited("Ga: 0.39, dG: -0.46}", replacement));
    INFO(replacement);
    CHECK_THAT(message, StartsWith(expected));
  }
}

TEST_CASE("initial coverages and a spectator", "[model][parser]") {
  const mkmap::Model model = mkmap::parse_model_text(
      kBaseModel + "initial_coverages: {O_s: 0.25, S_s: 0.5}\n", "test.yaml");

  REQUIRE(model.adsorbates.size() == 3);
  CHECK(model.adsorbates[2].name == "S");
  CHECK(model.adsorbates[2].elements.at("S") == 1);
  REQUIRE(model.initial_coverages.size() == 3);
  CHECK(model.initial_coverages[0] == 0.0);
  CHECK(model.initial_coverages[1] == 0.25);
  CHECK(model.initial_coverages[2] == 0.5);
}

TEST_CASE("error initial coverages", "[model][errors]") {
  using Case = std::pair<std::string, std::string>;
  for (const auto& [entry, expected] : {
           Case{"{O_s: 0.6, CO_s: 0.5}", "initial coverages on site type 's' occupy 1.1 sites, "
                                         "more than its total 1; lower them"},
           Case{"{CO_g: 0.1}", "\"CO_g\": an initial coverage needs an adsorbate term"},
           Case{"{2O_s: 0.1}", "\"2O_s\": an initial coverage needs an adsorbate term"},
           Case{"{O_t: 0.1}", "\"O_t\": site type 't' is not declared"},
           Case{"{O_2s: 0.1}", "\"O_2s\": adsorbate O occupies 1 site(s) in the reactions"},
           Case{"{O_s: -0.1}", "\"-0.1\": a coverage must be >= 0"},
           Case{"{Xx_s: 0.1}", "\"Xx_s\": "},
       }) {
    const std::string message =
        error_message(kBaseModel + "initial_coverages: " + entry + "\n");
    INFO(entry);
    CHECK_THAT(message, StartsWith("test.yaml:18: "));
    CHECK_THAT(message, Contains(expected));
  }
}

TEST_CASE("error transition state across site types", "[model][errors]") {
  const std::string message = error_message(edited(
      "CO_s + O_s <-> CO-O_2s -> CO2_g + 2*_s", "CO_s + O_s <-> CO-O_st -> CO2_g + 2*_s"));
  CHECK_THAT(message, StartsWith("test.yaml:13: "));
  CHECK_THAT(message, Contains("a transition state spans sites of one type"));
}

TEST_CASE("error initial coverages on a tiny site total", "[model][errors]") {
  const std::string message = error_message(
      edited("  s: {total: 1.0}", "  s: {total: 1.0e-7}") + "initial_coverages: {O_s: 2.0e-7}\n");
  CHECK_THAT(message, Contains("occupy 2e-07 sites, more than its total 1e-07"));
}

TEST_CASE("solver settings", "[model][parser]") {
  const mkmap::Model model = mkmap::parse_model_text(
      kBaseModel + "solver: {residual_tolerance: 1e-10, starts: all, random_starts: 2, seed: 7}\n",
      "test.yaml");

  CHECK(model.solver.residual_tolerance == 1e-10);
  CHECK(model.solver.starts == mkmap::StartSet::all);
  CHECK(model.solver.random_starts == 2);
  CHECK(model.solver.seed == 7);
}

TEST_CASE("error solver settings", "[model][errors]") {
  using Case = std::pair<std::string, std::string>;
  for (const auto& [entry, expected] : {
           Case{"{residual_tolerance: 0.1}", "\"0.1\": residual_tolerance must be from 1e-17 to 1e-3"},
           Case{"{residual_tolerance: 0}", "\"0\": residual_tolerance must be from 1e-17"},
           Case{"{residual_tolerance: 1e-18}", "\"1e-18\": residual_tolerance must be from 1e-17"},
           Case{"{starts: some}", "\"some\": unknown starts; use initial"},
           Case{"{random_starts: -1}", "\"-1\": random_starts must be from 0 to 1000"},
           Case{"{seed: -3}", "\"-3\": seed must be >= 0"},
           Case{"{tolerance: 1e-8}", "\"tolerance\""},
       }) {
    const std::string message = error_message(kBaseModel + "solver: " + entry + "\n");
    INFO(entry);
    CHECK_THAT(message, StartsWith("test.yaml:18: " + expected));
  }
}

TEST_CASE("gas with correction off", "[model][parser]") {
  const mkmap::Model model = mkmap::parse_model_text(
      edited("CO2: {pressure: 0.0, symmetry: 2, rotational_temperatures: "
             "[0.66], vibrational_temperatures: [954, 1890, 3360]}",
             "CO2: {pressure: 0.0, correction: false}"),
      "test.yaml");

  REQUIRE(model.gases.size() == 3);
  CHECK_FALSE(model.gases[2].thermo.enabled);
  CHECK(model.gases[2].thermo.vibrational_temperatures_K.empty());
}

TEST_CASE("error partial thermo data", "[model][errors]") {
  const std::string message =
      error_message(edited(", vibrational_temperatures: [3120]", ""));

  CHECK_THAT(message, StartsWith("test.yaml:7: \"vibrational_temperatures\": "
                                 "missing in gas \"CO\""));
}

TEST_CASE("error rotational temperature count", "[model][errors]") {
  const std::string message = error_message(edited("[2.78]", "[2.78, 3.0]"));

  CHECK_THAT(message, StartsWith("test.yaml:7: \"rotational_temperatures\": "
                                 "rotational_temperatures must have 1 value"));
}

TEST_CASE("error empty vibrational temperatures", "[model][errors]") {
  const std::string message = error_message(edited("[2278]", "[]"));

  CHECK_THAT(message, StartsWith("test.yaml:8: \"vibrational_temperatures\": "
                                 "vibrational_temperatures must have at least "
                                 "1 value"));
}

TEST_CASE("error negative pressure", "[model][errors]") {
  const std::string message =
      error_message(edited("pressure: 0.2", "pressure: -0.2"));

  CHECK_THAT(message, StartsWith("test.yaml:8: \"-0.2\": pressure must be >= 0"));
}

TEST_CASE("error negative temperature", "[model][errors]") {
  const std::string message =
      error_message(edited("temperature: 500", "temperature: -500"));

  CHECK_THAT(message, StartsWith("test.yaml:1: \"-500\": temperature must be "
                                 "> 0 K"));
}

TEST_CASE("error non-finite number", "[model][errors]") {
  const std::string message =
      error_message(edited("cell_area: 9.0e-20", "cell_area: .inf"));

  CHECK_THAT(message, StartsWith("test.yaml:2: \".inf\": cell_area must be a "
                                 "finite number"));
}

TEST_CASE("error number not numeric", "[model][errors]") {
  const std::string message = error_message(edited("Ga: 0.07", "Ga: fast"));

  CHECK_THAT(message, StartsWith("test.yaml:12: \"fast\": Ga must be a finite number"));
}

TEST_CASE("error active ratio range", "[model][errors]") {
  const std::string message =
      error_message(edited("active_ratio: 0.5", "active_ratio: 1.5"));

  CHECK_THAT(message, StartsWith("test.yaml:3: \"1.5\": active_ratio must be "
                                 "in (0, 1]"));
}

TEST_CASE("error site total", "[model][errors]") {
  const std::string message = error_message(edited("{total: 1.0}", "{total: 0}"));

  CHECK_THAT(message, StartsWith("test.yaml:5: \"0\": total must be > 0"));
}

TEST_CASE("error site type named g", "[model][errors]") {
  const std::string message = error_message(edited("  s: {", "  g: {"));

  CHECK_THAT(message, StartsWith("test.yaml:5: \"g\": invalid site type name"));
}

TEST_CASE("error sites not conserved", "[model][errors]") {
  const std::string message =
      error_message(edited("\"CO_g + *_s -> CO_s\"", "\"CO_g + 2*_s -> CO_s\""));

  CHECK(message ==
        "test.yaml:11: \"CO_g + 2*_s -> CO_s\": sites of type 's' not "
        "conserved (IS has 2, FS has 1); balance free sites and site counts");
}

TEST_CASE("error TS elements not conserved", "[model][errors]") {
  const std::string message = error_message(edited("O-O_2s", "O-O-O_2s"));

  CHECK_THAT(message,
             StartsWith("test.yaml:12: \"O2_g + 2*_s <-> O-O-O_2s -> 2O_s\": "
                        "elements not conserved (IS has O2, TS has O3)"));
}

TEST_CASE("error TS sites not conserved", "[model][errors]") {
  const std::string message = error_message(edited("CO-O_2s", "CO-O_s"));

  CHECK_THAT(message, StartsWith("test.yaml:13: \"CO_s + O_s <-> CO-O_s -> "
                                 "CO2_g + 2*_s\": sites of type 's' not "
                                 "conserved (IS has 2, TS has 1)"));
}

TEST_CASE("error middle state without dash", "[model][errors]") {
  const std::string message = error_message(edited("O-O_2s", "O2_2s"));

  CHECK_THAT(message, StartsWith("test.yaml:12: \"O2_g + 2*_s <-> O2_2s -> "
                                 "2O_s\": middle state \"O2_2s\""));
  CHECK_THAT(message, Contains("transition state must contain '-'"));
}

TEST_CASE("error transition state outside middle", "[model][errors]") {
  const std::string message =
      error_message(edited("\"CO_g + *_s -> CO_s\"", "\"CO_g + *_s -> C-O_s\""));

  CHECK_THAT(message, StartsWith("test.yaml:11: \"CO_g + *_s -> C-O_s\": "
                                 "transition state \"C-O_s\" appears in the "
                                 "FS"));
}

TEST_CASE("error undeclared gas", "[model][errors]") {
  const std::string message =
      error_message(edited("\"CO_g + *_s -> CO_s\"", "\"NO_g + *_s -> NO_s\""));

  CHECK_THAT(message, StartsWith("test.yaml:11: \"NO_g + *_s -> NO_s\": gas "
                                 "'NO' is not declared in gases"));
}

TEST_CASE("error undeclared site type", "[model][errors]") {
  const std::string message =
      error_message(edited("\"CO_g + *_s -> CO_s\"", "\"CO_g + *_t -> CO_t\""));

  CHECK_THAT(message, StartsWith("test.yaml:11: \"CO_g + *_t -> CO_t\": site "
                                 "type 't' of term \"*_t\" is not declared in "
                                 "sites"));
}

TEST_CASE("error adsorbate site counts differ", "[model][errors]") {
  const std::string message = error_message(
      edited("\"CO_s + O_s <-> CO-O_2s -> CO2_g + 2*_s\"",
             "\"CO_2s + O_s <-> CO-O_3s -> CO2_g + 3*_s\""));

  CHECK_THAT(message, StartsWith("test.yaml:13: \"CO_2s + O_s <-> CO-O_3s -> "
                                 "CO2_g + 3*_s\": adsorbate CO on site type "
                                 "'s' occupies 2 site(s)"));
}

TEST_CASE("error unknown element", "[model][errors]") {
  const std::string message =
      error_message(edited("\"CO_g + *_s -> CO_s\"", "\"CO_g + *_s -> CX_s\""));

  CHECK_THAT(message, StartsWith("test.yaml:11: \"CO_g + *_s -> CX_s\": "
                                 "unknown element symbol 'X' in \"CX\""));
}

TEST_CASE("error unknown element in gas", "[model][errors]") {
  const std::string message = error_message(edited("  CO2: {", "  CQ2: {"));

  CHECK_THAT(message, StartsWith("test.yaml:9: \"CQ2\": unknown element "
                                 "symbol 'Q'"));
}

TEST_CASE("error state count", "[model][errors]") {
  const std::string message = error_message(
      edited("\"CO_g + *_s -> CO_s\"", "\"CO_g + *_s -> CO_s -> CO_s -> CO_s\""));

  CHECK_THAT(message, Contains("expected 2 or 3 states separated by '->' or "
                               "'<->', found 4"));
  CHECK_THAT(message, StartsWith("test.yaml:11: "));
}

TEST_CASE("error term without label", "[model][errors]") {
  const std::string message =
      error_message(edited("\"CO_g + *_s -> CO_s\"", "\"CO + *_s -> CO_s\""));

  CHECK_THAT(message, StartsWith("test.yaml:11: \"CO + *_s -> CO_s\": term "
                                 "\"CO\" has no '_label'"));
}

TEST_CASE("error unknown product", "[model][errors]") {
  const std::string message =
      error_message(edited("product: CO2", "product: H2O"));

  CHECK_THAT(message, StartsWith("test.yaml:14: \"H2O\": product is not "
                                 "declared in gases"));
}

TEST_CASE("error product in no reaction", "[model][errors]") {
  std::string text = edited(
      "reactions:",
      "  N2: {pressure: 0.1, correction: false}\nreactions:");
  const std::size_t pos = text.find("product: CO2");
  text.replace(pos, 12, "product: N2");
  const std::string message = error_message(text);

  CHECK_THAT(message, StartsWith("test.yaml:15: \"N2\": product appears in no "
                                 "reaction"));
}

TEST_CASE("error unknown scan variable", "[model][errors]") {
  const std::string message =
      error_message(edited("variable: CO,", "variable: H2,"));

  CHECK_THAT(message, StartsWith("test.yaml:16: \"H2\": scan variable is "
                                 "neither T nor a gas"));
  CHECK_THAT(message, Contains("CO, O2, CO2"));
}

TEST_CASE("error axes same variable", "[model][errors]") {
  const std::string message =
      error_message(edited("variable: O2,", "variable: CO,"));

  CHECK_THAT(message, StartsWith("test.yaml:17: \"CO\": x and y scan the same "
                                 "variable"));
}

TEST_CASE("error log spacing from zero", "[model][errors]") {
  const std::string message = error_message(edited(
      "from: 1.0e-5, to: 0.5, points: 10}", "from: 0, to: 0.5, points: 10, spacing: log}"));

  CHECK_THAT(message, StartsWith("test.yaml:16: \"0\": log spacing needs "
                                 "from > 0"));
}

TEST_CASE("error temperature axis not positive", "[model][errors]") {
  const std::string message = error_message(
      edited("variable: CO, from: 1.0e-5", "variable: T, from: -5"));

  CHECK_THAT(message, StartsWith("test.yaml:16: \"-5\": temperature from must "
                                 "be > 0 K"));
}

TEST_CASE("error axis points", "[model][errors]") {
  const std::string message = error_message(edited("points: 10}", "points: 0}"));

  CHECK_THAT(message, StartsWith("test.yaml:16: \"0\": points must be >= 1"));
}

TEST_CASE("error axis spacing", "[model][errors]") {
  const std::string message =
      error_message(edited("spacing: linear", "spacing: geometric"));

  CHECK_THAT(message, StartsWith("test.yaml:17: \"geometric\": spacing must be "
                                 "linear or log"));
}

TEST_CASE("error model file missing", "[model][errors]") {
  const std::string path = kSourceDir + "/tests/data/models/no_such_file.yaml";
  try {
    mkmap::parse_model_file(path);
    FAIL("parse_model_file accepted a missing file");
  } catch (const ModelError& error) {
    CHECK_THAT(error.what(), StartsWith(path + ": cannot open the model file"));
    CHECK(error.line() == 0);
  }
}

TEST_CASE("error empty model", "[model][errors]") {
  CHECK_THAT(error_message(""), StartsWith("test.yaml: the model is empty"));
}
