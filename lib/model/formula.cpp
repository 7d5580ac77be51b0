#include "model/formula.hpp"

#include <cctype>
#include <stdexcept>

namespace mkmap {
namespace {

// Standard atomic weights [amu] in their older single-value form. C, O and H
// are the values SCAKS uses (12.0107, 15.9994, 1.00794), so molecular masses
// agree with it. The other elements use values of the same pre-2009 IUPAC
// table, and only C, O and H are checked by tests.
const std::map<std::string, double>& atomic_masses_amu() {
  static const std::map<std::string, double> masses = {
      {"H", 1.00794},     {"He", 4.002602},   {"Li", 6.941},
      {"Be", 9.012182},   {"B", 10.811},      {"C", 12.0107},
      {"N", 14.0067},     {"O", 15.9994},     {"F", 18.9984032},
      {"Ne", 20.1797},    {"Na", 22.98976928}, {"Mg", 24.3050},
      {"Al", 26.9815386}, {"Si", 28.0855},    {"P", 30.973762},
      {"S", 32.065},      {"Cl", 35.453},     {"Ar", 39.948},
      {"K", 39.0983},     {"Ca", 40.078},     {"Sc", 44.955912},
      {"Ti", 47.867},     {"V", 50.9415},     {"Cr", 51.9961},
      {"Mn", 54.938045},  {"Fe", 55.845},     {"Co", 58.933195},
      {"Ni", 58.6934},    {"Cu", 63.546},     {"Zn", 65.38},
      {"Ga", 69.723},     {"Ge", 72.64},      {"As", 74.92160},
      {"Se", 78.96},      {"Br", 79.904},     {"Kr", 83.798},
      {"Rb", 85.4678},    {"Sr", 87.62},      {"Y", 88.90585},
      {"Zr", 91.224},     {"Nb", 92.90638},   {"Mo", 95.96},
      {"Ru", 101.07},     {"Rh", 102.90550},  {"Pd", 106.42},
      {"Ag", 107.8682},   {"Cd", 112.411},    {"In", 114.818},
      {"Sn", 118.710},    {"Sb", 121.760},    {"Te", 127.60},
      {"I", 126.90447},   {"Xe", 131.293},    {"Cs", 132.9054519},
      {"Ba", 137.327},    {"La", 138.90547},  {"Ce", 140.116},
      {"Hf", 178.49},     {"Ta", 180.94788},  {"W", 183.84},
      {"Re", 186.207},    {"Os", 190.23},     {"Ir", 192.217},
      {"Pt", 195.084},    {"Au", 196.966569}, {"Hg", 200.59},
      {"Pb", 207.2},      {"Bi", 208.98040},
  };
  return masses;
}

bool is_upper(char c) { return std::isupper(static_cast<unsigned char>(c)); }
bool is_lower(char c) { return std::islower(static_cast<unsigned char>(c)); }
bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)); }

// Atom counts above this are typing mistakes, and the limit keeps the
// count far from int overflow.
constexpr int kMaxAtomCount = 1000;

// Reads the count after an element symbol at formula[pos], 1 when absent.
int read_atom_count(const std::string& formula, std::size_t& pos) {
  if (pos >= formula.size() || !is_digit(formula[pos])) {
    return 1;
  }
  int count = 0;
  while (pos < formula.size() && is_digit(formula[pos])) {
    count = count * 10 + (formula[pos] - '0');
    if (count > kMaxAtomCount) {
      throw std::invalid_argument("atom count in \"" + formula +
                                  "\" is above " +
                                  std::to_string(kMaxAtomCount) +
                                  "; check the species name");
    }
    ++pos;
  }
  if (count == 0) {
    throw std::invalid_argument("atom count 0 in \"" + formula +
                                "\"; leave the element out instead");
  }
  return count;
}

std::string read_symbol(const std::string& formula, std::size_t& pos) {
  if (!is_upper(formula[pos])) {
    throw std::invalid_argument(
        "species name \"" + formula + "\" is not a formula: '" +
        formula.substr(pos, 1) +
        "' does not start an element symbol; write names such as CO2 or "
        "CH3OH");
  }
  std::string symbol(1, formula[pos++]);
  if (pos < formula.size() && is_lower(formula[pos])) {
    symbol += formula[pos++];
  }
  if (atomic_masses_amu().count(symbol) == 0) {
    throw std::invalid_argument("unknown element symbol '" + symbol +
                                "' in \"" + formula +
                                "\"; use chemical symbols such as C, O, H, "
                                "N, Cl or Pt with correct case");
  }
  return symbol;
}

}  // namespace

ElementCounts parse_formula(const std::string& formula) {
  if (formula.empty()) {
    throw std::invalid_argument(
        "empty species name; write a formula such as CO2");
  }
  ElementCounts elements;
  std::size_t pos = 0;
  while (pos < formula.size()) {
    const std::string symbol = read_symbol(formula, pos);
    elements[symbol] += read_atom_count(formula, pos);
  }
  return elements;
}

ElementCounts parse_transition_state_formula(const std::string& name) {
  ElementCounts elements;
  std::size_t begin = 0;
  while (true) {
    const std::size_t dash = name.find('-', begin);
    const std::string part = name.substr(begin, dash - begin);
    if (part.empty()) {
      throw std::invalid_argument(
          "transition state \"" + name +
          "\" has an empty part around '-'; write it as formulas joined by "
          "'-', e.g. CO-O");
    }
    add_elements(elements, parse_formula(part), 1);
    if (dash == std::string::npos) {
      return elements;
    }
    begin = dash + 1;
  }
}

double molecular_mass_amu(const ElementCounts& elements) {
  double mass_amu = 0.0;
  for (const auto& [symbol, count] : elements) {
    const auto found = atomic_masses_amu().find(symbol);
    if (found == atomic_masses_amu().end()) {
      throw std::invalid_argument("unknown element symbol '" + symbol + "'");
    }
    mass_amu += found->second * count;
  }
  return mass_amu;
}

void add_elements(ElementCounts& total, const ElementCounts& part, int count) {
  for (const auto& [symbol, atoms] : part) {
    total[symbol] += atoms * count;
  }
}

std::string format_elements(const ElementCounts& elements) {
  std::string text;
  for (const auto& [symbol, count] : elements) {
    if (count == 0) {
      continue;
    }
    if (!text.empty()) {
      text += ' ';
    }
    text += symbol + std::to_string(count);
  }
  return text.empty() ? "no atoms" : text;
}

}  // namespace mkmap
