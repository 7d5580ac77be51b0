#pragma once
// The `initial_coverages` and `solver` sections of a model file.

#include <yaml-cpp/yaml.h>

#include "model/model.hpp"
#include "model/yaml_reader.hpp"

namespace mkmap {

/// Parses initial_coverages into model.initial_coverages. An adsorbate that
/// no reaction names becomes a spectator adsorbate of the model. Needs the
/// reactions.
/// Throws: ModelError naming a bad term or value, or a site type whose
/// initial coverages exceed its total.
void parse_initial_coverages(const YamlReader& reader, const YAML::Node& node,
                             Model& model);

/// Parses the solver section into model.solver.
/// Throws: ModelError naming the bad key or value.
void parse_solver_settings(const YamlReader& reader, const YAML::Node& node,
                           Model& model);

}  // namespace mkmap
