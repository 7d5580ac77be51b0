#pragma once
// Gases from the `gases` map of a model file.

#include <yaml-cpp/yaml.h>

#include "model/model.hpp"
#include "model/yaml_reader.hpp"

namespace mkmap {

/// Parses the gases map into model.gases in file order, with element counts
/// and masses from the gas names and the ideal-gas thermo data.
/// Throws: ModelError naming the gas and what is wrong with it.
void parse_gases(const YamlReader& reader, const YAML::Node& gases,
                 Model& model);

/// Checks that every gas in a step under collision theory has thermo data
/// or has its correction turned off. Needs model.steps.
/// Throws: ModelError at the gas that lacks the data.
void check_gas_thermo(const YamlReader& reader, const YAML::Node& gases,
                      const Model& model);

}  // namespace mkmap
