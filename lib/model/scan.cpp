#include "model/scan.hpp"

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>

#include "model/axis_range.hpp"
#include "model/parser.hpp"

namespace mkmap {
namespace {

const char* const kOverrideForm = "expected VARIABLE:FROM:TO:POINTS[:lin|log]";

std::optional<AxisRangeProblem> check_bound(const ScanAxis& axis,
                                            const std::string& field,
                                            double value) {
  if (!std::isfinite(value)) {
    return AxisRangeProblem{field, field + " must be a finite number"};
  }
  if (axis.variable == AxisVariable::temperature && value <= 0.0) {
    return AxisRangeProblem{field,
                            "temperature " + field + " must be > 0 K"};
  }
  if (axis.variable == AxisVariable::pressure && value < 0.0) {
    return AxisRangeProblem{field, "pressure " + field + " must be >= 0"};
  }
  if (axis.spacing == AxisSpacing::logarithmic && value <= 0.0) {
    return AxisRangeProblem{
        field, "log spacing needs " + field +
                   " > 0; use linear spacing or a positive range"};
  }
  return std::nullopt;
}

const std::string& gas_name(const ScanAxis& axis, const Model& model) {
  return model.gases.at(static_cast<std::size_t>(axis.gas)).name;
}

std::vector<std::string> split_fields(const std::string& spec) {
  std::vector<std::string> fields;
  std::size_t begin = 0;
  while (true) {
    const std::size_t colon = spec.find(':', begin);
    fields.push_back(spec.substr(begin, colon - begin));
    if (colon == std::string::npos) {
      return fields;
    }
    begin = colon + 1;
  }
}

// Parses a whole field as a finite double, and returns false on leftover text.
bool parse_double(const std::string& text, double& value) {
  if (text.empty()) {
    return false;
  }
  char* end = nullptr;
  errno = 0;
  value = std::strtod(text.c_str(), &end);
  return errno == 0 && *end == '\0' && std::isfinite(value);
}

bool parse_int(const std::string& text, int& value) {
  if (text.empty()) {
    return false;
  }
  char* end = nullptr;
  errno = 0;
  const long parsed = std::strtol(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || parsed < INT_MIN || parsed > INT_MAX) {
    return false;
  }
  value = static_cast<int>(parsed);
  return true;
}

class OverrideParser {
 public:
  OverrideParser(const std::string& spec, const Model& model,
                 const std::string& option_name)
      : spec_(spec), model_(model), option_name_(option_name) {}

  ScanAxis parse() const {
    const std::vector<std::string> fields = split_fields(spec_);
    if (fields.size() != 4 && fields.size() != 5) {
      fail(kOverrideForm);
    }
    ScanAxis axis;
    set_variable(axis, fields[0]);
    axis.from = read_bound("FROM", fields[1]);
    axis.to = read_bound("TO", fields[2]);
    if (!parse_int(fields[3], axis.points)) {
      fail("POINTS '" + fields[3] + "' is not an integer; " + kOverrideForm);
    }
    if (fields.size() == 5) {
      axis.spacing = read_spacing(fields[4]);
    }
    if (const auto problem = check_axis_range(axis)) {
      fail(problem->message);
    }
    return axis;
  }

 private:
  [[noreturn]] void fail(const std::string& problem) const {
    throw ModelError(option_name_, 0, spec_, problem);
  }

  void set_variable(ScanAxis& axis, const std::string& name) const {
    if (name == "T") {
      axis.variable = AxisVariable::temperature;
      axis.gas = -1;
      return;
    }
    for (std::size_t i = 0; i < model_.gases.size(); ++i) {
      if (model_.gases[i].name == name) {
        axis.variable = AxisVariable::pressure;
        axis.gas = static_cast<int>(i);
        return;
      }
    }
    fail("unknown variable '" + name + "'; use T or a gas of the model (" +
         gas_list() + ")");
  }

  double read_bound(const std::string& field, const std::string& text) const {
    double value = 0.0;
    if (!parse_double(text, value)) {
      fail(field + " '" + text + "' is not a finite number; " + kOverrideForm);
    }
    return value;
  }

  AxisSpacing read_spacing(const std::string& text) const {
    if (text == "lin" || text == "linear") {
      return AxisSpacing::linear;
    }
    if (text == "log") {
      return AxisSpacing::logarithmic;
    }
    fail("spacing '" + text + "' is invalid; use lin, linear or log");
  }

  std::string gas_list() const {
    std::string list;
    for (const Gas& gas : model_.gases) {
      list += (list.empty() ? "" : ", ") + gas.name;
    }
    return list;
  }

  const std::string& spec_;
  const Model& model_;
  const std::string& option_name_;
};

}  // namespace

std::optional<AxisRangeProblem> check_axis_range(const ScanAxis& axis) {
  if (axis.points < 1) {
    return AxisRangeProblem{"points", "points must be >= 1"};
  }
  if (auto problem = check_bound(axis, "from", axis.from)) {
    return problem;
  }
  return check_bound(axis, "to", axis.to);
}

std::vector<double> axis_values(const ScanAxis& axis) {
  if (axis.points <= 1) {
    return {axis.from};
  }
  const bool log_spacing = axis.spacing == AxisSpacing::logarithmic;
  const double start = log_spacing ? std::log(axis.from) : axis.from;
  const double stop = log_spacing ? std::log(axis.to) : axis.to;

  // value_i = start + i * step, as numpy.linspace computes it, with both
  // ends set exactly.
  const double step = (stop - start) / (axis.points - 1);
  std::vector<double> values(static_cast<std::size_t>(axis.points));
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double value = static_cast<double>(i) * step + start;
    values[i] = log_spacing ? std::exp(value) : value;
  }
  values.front() = axis.from;
  values.back() = axis.to;
  return values;
}

ScanAxis parse_axis_override(const std::string& spec, const Model& model) {
  return parse_axis_override(spec, model, "axis override");
}

ScanAxis parse_axis_override(const std::string& spec, const Model& model,
                             const std::string& option_name) {
  return OverrideParser(spec, model, option_name).parse();
}

void check_distinct_axes(const Model& model, const ScanAxis& x,
                         const ScanAxis& y) {
  const bool same = x.variable == y.variable &&
                    (x.variable == AxisVariable::temperature || x.gas == y.gas);
  if (same) {
    throw ModelError(model.source_name, 0, axis_column(y, model),
                     "x and y scan the same variable; choose two different "
                     "variables");
  }
}

std::string axis_column(const ScanAxis& axis, const Model& model) {
  if (axis.variable == AxisVariable::temperature) {
    return "T";
  }
  return "p_" + gas_name(axis, model);
}

std::string axis_label(const ScanAxis& axis, const Model& model) {
  if (axis.variable == AxisVariable::temperature) {
    return "T [K]";
  }
  return "p(" + gas_name(axis, model) + ") [p/p0, p0 = 101325 Pa]";
}

void apply_axis_value(Model& model, const ScanAxis& axis, double value) {
  if (axis.variable == AxisVariable::temperature) {
    model.temperature_K = value;
    return;
  }
  model.gases.at(static_cast<std::size_t>(axis.gas)).pressure = value;
}

}  // namespace mkmap
