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
    if (thermo.enabled) {
      reader.fail(key_node, key_node.Scalar(),
                  "gas has no thermo data; give symmetry, "
                  "rotational_temperatures and vibrational_temperatures, or "
                  "set correction: false");
    }
    return thermo;
  }

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

}  // namespace mkmap
