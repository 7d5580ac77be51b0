#pragma once
// Range rules shared by scan axes from model files and from the command line.

#include <optional>
#include <string>

#include "model/model.hpp"

namespace mkmap {

/// A broken range rule of a scan axis.
struct AxisRangeProblem {
  /// The field at fault: "from", "to" or "points".
  std::string field;
  /// Description of the broken rule and of the fix.
  std::string message;
};

/// Checks points >= 1, finite bounds, bounds >= 0 for a pressure, > 0 for a
/// temperature and > 0 for log spacing.
/// Returns: the first broken rule, or std::nullopt for a valid axis.
std::optional<AxisRangeProblem> check_axis_range(const ScanAxis& axis);

}  // namespace mkmap
