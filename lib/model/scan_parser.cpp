#include "model/scan_parser.hpp"

#include "model/axis_range.hpp"

namespace mkmap {
namespace {

const std::vector<std::string> kAxisKeys = {"variable", "from", "to",
                                            "points", "spacing"};

std::string gas_names(const Model& model) {
  std::string names;
  for (const Gas& gas : model.gases) {
    names += (names.empty() ? "" : ", ") + gas.name;
  }
  return names;
}

void read_variable(const YamlReader& reader, const YAML::Node& node,
                   const Model& model, ScanAxis& axis) {
  const std::string name = reader.scalar(node, "variable");
  if (name == "T") {
    axis.variable = AxisVariable::temperature;
    axis.gas = -1;
    return;
  }
  for (std::size_t i = 0; i < model.gases.size(); ++i) {
    if (model.gases[i].name == name) {
      axis.variable = AxisVariable::pressure;
      axis.gas = static_cast<int>(i);
      return;
    }
  }
  reader.fail(node, name,
              "scan variable is neither T nor a gas of the model; use T or "
              "one of " + gas_names(model));
}

AxisSpacing read_spacing(const YamlReader& reader, const YAML::Node& node) {
  const std::string spacing = reader.scalar(node, "spacing");
  if (spacing == "linear") {
    return AxisSpacing::linear;
  }
  if (spacing != "log") {
    reader.fail(node, spacing, "spacing must be linear or log");
  }
  return AxisSpacing::logarithmic;
}

ScanAxis parse_axis(const YamlReader& reader, const YAML::Node& node,
                    const std::string& name, const Model& model) {
  const std::string what = "scan axis " + name;
  reader.check_map(node, what, kAxisKeys);

  ScanAxis axis;
  read_variable(reader,
                reader.require(node, "variable", what, "<gas name or T>"),
                model, axis);
  const YAML::Node from =
      reader.require(node, "from", what, "<first value, p/p0 or K>");
  const YAML::Node to =
      reader.require(node, "to", what, "<last value, p/p0 or K>");
  const YAML::Node points =
      reader.require(node, "points", what, "<number of points>");
  axis.from = reader.number(from, "from");
  axis.to = reader.number(to, "to");
  axis.points = reader.integer(points, "points");
  if (node["spacing"].IsDefined()) {
    axis.spacing = read_spacing(reader, node["spacing"]);
  }

  if (const auto problem = check_axis_range(axis)) {
    const YAML::Node field = node[problem->field];
    reader.fail(field, field.Scalar(), problem->message);
  }
  return axis;
}

}  // namespace

void parse_scan(const YamlReader& reader, const YAML::Node& scan,
                Model& model) {
  reader.check_map(scan, "scan", {"x", "y"});
  model.scan[0] = parse_axis(
      reader, reader.require(scan, "x", "scan", "{variable: ..., from: ...}"),
      "x", model);
  model.scan[1] = parse_axis(
      reader, reader.require(scan, "y", "scan", "{variable: ..., from: ...}"),
      "y", model);

  const ScanAxis& x = model.scan[0];
  const ScanAxis& y = model.scan[1];
  const bool same = x.variable == y.variable &&
                    (x.variable == AxisVariable::temperature || x.gas == y.gas);
  if (same) {
    const YAML::Node variable = scan["y"]["variable"];
    reader.fail(variable, variable.Scalar(),
                "x and y scan the same variable; choose two different "
                "variables");
  }
}

}  // namespace mkmap
