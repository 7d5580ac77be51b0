#pragma once
// Elementary steps from the `reactions` list of a model file.

#include <yaml-cpp/yaml.h>

#include "model/model.hpp"
#include "model/yaml_reader.hpp"

namespace mkmap {

/// Parses a `rate_constants` value: collision or tst.
/// Throws: ModelError naming the unknown value.
RateRule parse_rate_rule(const YamlReader& reader, const YAML::Node& node);

/// Parses the reactions list into model.steps and declares the adsorbates
/// in order of first appearance. Needs model.sites and model.gases.
/// Checks that every step conserves elements and sites per site type, and
/// sets Ga = dG for a step with Ga = 0 and dG > 0.
/// Throws: ModelError naming the step and what is wrong with it.
void parse_reactions(const YamlReader& reader, const YAML::Node& reactions,
                     Model& model);

}  // namespace mkmap
