#pragma once
// The grid of conditions a map covers.

#include <string>
#include <vector>

#include "model/model.hpp"

namespace mkmap {

/// Returns the points of an axis, from first to last value inclusive
/// [p/p0 or K].
std::vector<double> axis_values(const ScanAxis& axis);

/// Parses a command-line axis override "VARIABLE:FROM:TO:POINTS[:lin|log]",
/// where VARIABLE is a gas of the model (its pressure) or T. The spacing
/// may also be written "linear" and defaults to linear. The range rules of
/// model files apply: POINTS >= 1, pressures >= 0, temperatures > 0 K and
/// log spacing only between positive bounds.
/// Throws: ModelError naming the spec and what is wrong with it, with
/// "axis override" as its source.
ScanAxis parse_axis_override(const std::string& spec, const Model& model);

/// Parses an axis override as above, naming option_name (e.g. "--x") as
/// the source of errors: `--x: "CO:1e-5:0.5": expected ...`.
ScanAxis parse_axis_override(const std::string& spec, const Model& model,
                             const std::string& option_name);

/// Checks that the x and y axes vary different conditions, for use after
/// replacing an axis of model.scan.
/// Throws: ModelError naming the shared variable.
void check_distinct_axes(const Model& model, const ScanAxis& x,
                         const ScanAxis& y);

/// Returns a short column name for an axis: "p_CO" or "T".
std::string axis_column(const ScanAxis& axis, const Model& model);

/// Returns a plot label with its unit: "p(CO) [p/p0, p0 = 101325 Pa]" or "T [K]".
std::string axis_label(const ScanAxis& axis, const Model& model);

/// Sets the condition an axis varies to value [p/p0 or K] in model.
void apply_axis_value(Model& model, const ScanAxis& axis, double value);

}  // namespace mkmap
