#pragma once
// Syntax of the reaction notation: `IS -> FS` or `IS <-> TS -> FS`, each
// state a '+'-separated list of `[coefficient]name_[sites]label` terms.

#include <string>
#include <vector>

namespace mkmap {

/// One term as written, before its name and label are looked up.
struct TermSyntax {
  /// The term as written, without surrounding spaces.
  std::string text;
  int coefficient = 1;
  /// Species name, or "*" for a free site. A '-' marks a transition state.
  std::string name;
  /// Sites of the label's type that one species occupies.
  int site_count = 1;
  /// True when the term writes the site count, as in "O-O_2s".
  bool site_count_written = false;
  /// "g" for a gas, otherwise a site type name.
  std::string label;
};

using StateSyntax = std::vector<TermSyntax>;

/// Parses one term such as "2O_s", "O2_2s" or "CO_g" (no surrounding spaces).
/// Throws: std::invalid_argument saying what is wrong with the notation.
TermSyntax parse_term(const std::string& text);

/// Splits an equation into its 2 or 3 states and their terms. Both "->" and
/// "<->" separate states.
/// Throws: std::invalid_argument saying what is wrong with the notation.
std::vector<StateSyntax> parse_equation(const std::string& equation);

}  // namespace mkmap
