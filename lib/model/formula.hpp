#pragma once
// Element counts and molecular masses from species names such as "CH3OH".

#include <map>
#include <string>

namespace mkmap {

/// Number of atoms per element symbol, e.g. {"C": 1, "O": 2} for CO2.
using ElementCounts = std::map<std::string, int>;

/// Parses a species name written as a formula: element symbols (an
/// uppercase letter and an optional lowercase one) each followed by an
/// optional count, e.g. "CO2", "CH3OH" or "Cl2". A symbol may repeat.
/// Throws: std::invalid_argument saying what is wrong, when the name is not
/// such a formula or contains an unknown element symbol.
ElementCounts parse_formula(const std::string& formula);

/// Parses a transition-state name, formulas joined by '-' such as "CO-O",
/// and returns the elements of all parts together.
/// Throws: std::invalid_argument as parse_formula, or when a part is empty.
ElementCounts parse_transition_state_formula(const std::string& name);

/// Returns the sum of the standard atomic masses of the elements [amu].
/// Throws: std::invalid_argument on an unknown element symbol.
double molecular_mass_amu(const ElementCounts& elements);

/// Adds count times the elements of part to total.
void add_elements(ElementCounts& total, const ElementCounts& part, int count);

/// Formats element counts for messages: "C1 O2", or "no atoms" when empty.
std::string format_elements(const ElementCounts& elements);

}  // namespace mkmap
