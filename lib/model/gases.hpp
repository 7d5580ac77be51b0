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

}  // namespace mkmap
