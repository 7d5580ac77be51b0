#include "model/gases.hpp"

#include <stdexcept>

#include "model/formula.hpp"

namespace mkmap {
namespace {

const std::vector<std::string> kGasKeys = {
    "pressure", "symmetry", "rotational_temperatures",
    "vibrational_temperatures", "correction"};

void check_positive(const YamlReader& reader, const YAML::Node& list,
                    const std::string& key,
                    const std::vector<double>& values) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (values[i] <= 0.0) {
      reader.fail(list[i], list[i].Scalar(), key + " must be > 0 K");
    }
  }
}

std::vector<double> read_rotational(const YamlReader& reader,
                                    const YAML::Node& node) {
  const std::string key = "rotational_temperatures";
  const std::vector<double> values = reader.numbers(node, key);
  if (values.size() != 1 && values.size() != 3) {
    reader.fail(node, key,
                key + " must have 1 value (linear molecule) or 3 values "
                      "(nonlinear molecule), not " +
                    std::to_string(values.size()));
  }
  check_positive(reader, node, key, values);
  return values;
}

std::vector<double> read_vibrational(const YamlReader& reader,
                                     const YAML::Node& node) {
  const std::string key = "vibrational_temperatures";
  const std::vector<double> values = reader.numbers(node, key);
  if (values.empty()) {
    reader.fail(node, key, key + " must have at least 1 value");
  }
  check_positive(reader, node, key, values);
  return values;
}

// Reads the thermo fields. All three are required unless `correction: false`
// turns the free-energy correction off, but given fields are checked anyway.
GasThermo parse_thermo(const YamlReader& reader, const YAML::Node& key_node,
                       const YAML::Node& gas) {
  GasThermo thermo;
  const std::string what = "gas \"" + key_node.Scalar() + "\"";
  if (gas["correction"].IsDefined()) {
    thermo.enabled = reader.boolean(gas["correction"], "correction");
  }
  const bool has_data = gas["symmetry"].IsDefined() ||
                        gas["rotational_temperatures"].IsDefined() ||
                        gas["vibrational_temperatures"].IsDefined();
  if (!has_data) {
    // Whether the correction needs the data depends on the steps' rate
    // rules, which check_gas_thermo() tests after the reactions.
    return thermo;
  }
  thermo.data_given = true;

  if (thermo.enabled || gas["symmetry"].IsDefined()) {
    const YAML::Node symmetry = reader.require(gas, "symmetry", what,
                                               "<rotational symmetry number>");
    thermo.symmetry = reader.integer(symmetry, "symmetry");
    if (thermo.symmetry < 1) {
      reader.fail(symmetry, symmetry.Scalar(), "symmetry must be >= 1");
    }
  }
  if (thermo.enabled || gas["rotational_temperatures"].IsDefined()) {
    thermo.rotational_temperatures_K = read_rotational(
        reader, reader.require(gas, "rotational_temperatures", what,
                               "[<theta_r in K>]"));
  }
  if (thermo.enabled || gas["vibrational_temperatures"].IsDefined()) {
    thermo.vibrational_temperatures_K = read_vibrational(
        reader, reader.require(gas, "vibrational_temperatures", what,
                               "[<theta_v in K>, ...]"));
  }
  return thermo;
}

Gas parse_gas(const YamlReader& reader, const YAML::Node& key_node,
              const YAML::Node& value) {
  Gas gas;
  gas.name = key_node.Scalar();
  gas.line = line_of(key_node);
  const std::string what = "gas \"" + gas.name + "\"";
  reader.check_map(value, what, kGasKeys);

  try {
    gas.elements = parse_formula(gas.name);
    gas.mass_amu = molecular_mass_amu(gas.elements);
  } catch (const std::invalid_argument& error) {
    reader.fail(key_node, gas.name, error.what());
  }

  const YAML::Node pressure =
      reader.require(value, "pressure", what, "<partial pressure as p/p0>");
  gas.pressure = reader.number(pressure, "pressure");
  if (gas.pressure < 0.0) {
    reader.fail(pressure, pressure.Scalar(), "pressure must be >= 0");
  }
  gas.thermo = parse_thermo(reader, key_node, value);
  return gas;
}

}  // namespace

void parse_gases(const YamlReader& reader, const YAML::Node& gases,
                 Model& model) {
  reader.check_named_map(gases, "gases",
                         "{CO: {pressure: 0.1, symmetry: 1, ...}}");
  for (const auto& entry : gases) {
    model.gases.push_back(parse_gas(reader, entry.first, entry.second));
  }
}

void check_gas_thermo(const YamlReader& reader, const YAML::Node& gases,
                      const Model& model) {
  std::vector<bool> needed(model.gases.size(), false);
  for (const Step& step : model.steps) {
    if (step.rule != RateRule::collision) continue;
    for (const auto* state : {&step.initial, &step.final}) {
      for (const Term& term : *state) {
        if (term.kind == TermKind::gas) needed[term.index] = true;
      }
    }
  }
  std::size_t index = 0;
  for (const auto& entry : gases) {
    const Gas& gas = model.gases[index];
    if (needed[index] && gas.thermo.enabled && !gas.thermo.data_given) {
      reader.fail(entry.first, gas.name,
                  "gas has no thermo data, which collision-theory steps "
                  "need; give symmetry, rotational_temperatures and "
                  "vibrational_temperatures, set correction: false, or use "
                  "rate_constants: tst");
    }
    ++index;
  }
}

}  // namespace mkmap
