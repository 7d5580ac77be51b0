#include "model/parser.hpp"

#include <cctype>
#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "model/gases.hpp"
#include "model/reactions.hpp"
#include "model/scan_parser.hpp"
#include "model/solver_settings.hpp"
#include "model/yaml_reader.hpp"

namespace mkmap {
namespace {

const std::vector<std::string> kTopLevelKeys = {
    "temperature", "cell_area",         "active_ratio", "sites",
    "gases",       "rate_constants",    "reactions",    "initial_coverages",
    "solver",      "product",           "scan"};

// Returns line (1-based) of text without surrounding spaces, for messages.
std::string source_line(const std::string& text, int line) {
  std::istringstream stream(text);
  std::string current;
  for (int i = 0; i < line; ++i) {
    if (!std::getline(stream, current)) {
      return "";
    }
  }
  const auto first = current.find_first_not_of(" \t\r");
  if (first == std::string::npos) {
    return "";
  }
  return current.substr(first, current.find_last_not_of(" \t\r") - first + 1);
}

YAML::Node load_yaml(const std::string& text, const std::string& source) {
  try {
    return YAML::Load(text);
  } catch (const YAML::ParserException& error) {
    const int line = error.mark.is_null() ? 0 : error.mark.line + 1;
    throw ModelError(source, line, source_line(text, line),
                     "invalid YAML: " + error.msg + "; fix the syntax");
  }
}

void parse_conditions(const YamlReader& reader, const YAML::Node& root,
                      Model& model) {
  const YAML::Node temperature =
      reader.require(root, "temperature", "the model", "<T in K>");
  model.temperature_K = reader.number(temperature, "temperature");
  if (model.temperature_K <= 0.0) {
    reader.fail(temperature, temperature.Scalar(),
                "temperature must be > 0 K");
  }

  const YAML::Node area = reader.require(root, "cell_area", "the model",
                                         "<unit-cell area in m^2>");
  model.cell_area_m2 = reader.number(area, "cell_area");
  if (model.cell_area_m2 <= 0.0) {
    reader.fail(area, area.Scalar(), "cell_area must be > 0 m^2");
  }

  const YAML::Node ratio = root["active_ratio"];
  if (ratio.IsDefined()) {
    model.active_ratio = reader.number(ratio, "active_ratio");
    if (model.active_ratio <= 0.0 || model.active_ratio > 1.0) {
      reader.fail(ratio, ratio.Scalar(),
                  "active_ratio must be in (0, 1], the active fraction of "
                  "the unit cell");
    }
  }
}

// Site type names must not be confused with a site count or with the gas
// label when they end a term such as O_2s.
void check_site_name(const YamlReader& reader, const YAML::Node& key) {
  const std::string& name = key.Scalar();
  bool valid =
      !name.empty() && std::isalpha(static_cast<unsigned char>(name[0]));
  for (char c : name) {
    valid = valid && std::isalnum(static_cast<unsigned char>(c));
  }
  if (!valid || name == "g") {
    reader.fail(key, name,
                "invalid site type name; use letters and digits starting "
                "with a letter, and not g, which marks a gas");
  }
}

SiteType parse_site(const YamlReader& reader, const YAML::Node& key,
                    const YAML::Node& value) {
  check_site_name(reader, key);
  SiteType site;
  site.name = key.Scalar();
  if (value.IsNull()) {
    return site;
  }
  reader.check_map(value, "site type \"" + site.name + "\"", {"total"});
  const YAML::Node total = value["total"];
  if (total.IsDefined()) {
    site.total = reader.number(total, "total");
    if (site.total <= 0.0) {
      reader.fail(total, total.Scalar(), "total must be > 0");
    }
  }
  return site;
}

void parse_sites(const YamlReader& reader, const YAML::Node& sites,
                 Model& model) {
  reader.check_named_map(sites, "sites", "{s: {total: 1}}");
  for (const auto& entry : sites) {
    model.sites.push_back(parse_site(reader, entry.first, entry.second));
  }
}

bool appears_in_steps(const Model& model, int gas) {
  for (const Step& step : model.steps) {
    for (const auto* state : {&step.initial, &step.final}) {
      for (const Term& term : *state) {
        if (term.kind == TermKind::gas && term.index == gas) {
          return true;
        }
      }
    }
  }
  return false;
}

void parse_product(const YamlReader& reader, const YAML::Node& node,
                   Model& model) {
  const std::string name = reader.scalar(node, "product");
  for (std::size_t i = 0; i < model.gases.size(); ++i) {
    if (model.gases[i].name == name) {
      model.product = static_cast<int>(i);
    }
  }
  if (model.product < 0) {
    reader.fail(node, name,
                "product is not declared in gases; name one of the gases");
  }
  if (!appears_in_steps(model, model.product)) {
    reader.fail(node, name,
                "product appears in no reaction; name a gas that a step "
                "produces or consumes");
  }
}

// Sections are read in dependency order: reactions need sites, gases and
// the default rate rule, initial coverages need the adsorbates of the
// reactions, product and scan need gases.
void build_model(const YamlReader& reader, const YAML::Node& root,
                 Model& model) {
  if (root.IsNull()) {
    reader.fail(root, "", "the model is empty; expected a map with keys "
                          "temperature, cell_area, sites, gases, reactions, "
                          "product and scan");
  }
  reader.check_map(root, "the model", kTopLevelKeys);
  parse_conditions(reader, root, model);
  parse_sites(reader,
              reader.require(root, "sites", "the model", "{s: {total: 1}}"),
              model);
  const YAML::Node gases = reader.require(
      root, "gases", "the model", "{CO: {pressure: ..., symmetry: ...}}");
  parse_gases(reader, gases, model);
  if (root["rate_constants"].IsDefined()) {
    model.default_rule = parse_rate_rule(reader, root["rate_constants"]);
  }
  parse_reactions(reader,
                  reader.require(root, "reactions", "the model",
                                 "[{equation: ..., Ga: ..., dG: ...}]"),
                  model);
  check_gas_thermo(reader, gases, model);
  if (root["initial_coverages"].IsDefined()) {
    parse_initial_coverages(reader, root["initial_coverages"], model);
  }
  if (root["solver"].IsDefined()) {
    parse_solver_settings(reader, root["solver"], model);
  }
  parse_product(reader,
                reader.require(root, "product", "the model", "<gas name>"),
                model);
  parse_scan(reader,
             reader.require(root, "scan", "the model",
                            "{x: {...}, y: {...}}"),
             model);
}

}  // namespace

Model parse_model_text(const std::string& yaml_text,
                       const std::string& source_name) {
  const YAML::Node root = load_yaml(yaml_text, source_name);
  const YamlReader reader(source_name);

  Model model;
  model.source_name = source_name;
  model.source_text = yaml_text;
  try {
    build_model(reader, root, model);
  } catch (const YAML::Exception& error) {
    // The readers check types before converting, so this is a last resort
    // that still names the line.
    const int line = error.mark.is_null() ? 0 : error.mark.line + 1;
    throw ModelError(source_name, line, source_line(yaml_text, line),
                     "invalid value: " + error.msg + "; check this line");
  }
  return model;
}

Model parse_model_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    throw ModelError(path, 0, "",
                     "cannot open the model file; check the path and its "
                     "permissions");
  }
  std::ostringstream text;
  text << file.rdbuf();
  if (file.bad()) {
    throw ModelError(path, 0, "", "reading the model file failed");
  }
  return parse_model_text(text.str(), path);
}

}  // namespace mkmap
