#pragma once
// The 2D scan from the `scan` map of a model file.

#include <yaml-cpp/yaml.h>

#include "model/model.hpp"
#include "model/yaml_reader.hpp"

namespace mkmap {

/// Parses the x and y axes into model.scan. Needs model.gases.
/// Throws: ModelError naming the axis field and what is wrong with it.
void parse_scan(const YamlReader& reader, const YAML::Node& scan,
                Model& model);

}  // namespace mkmap
