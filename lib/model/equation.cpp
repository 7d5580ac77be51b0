#include "model/equation.hpp"

#include <cctype>
#include <stdexcept>

namespace mkmap {
namespace {

// Coefficients and site counts above this are typing mistakes, and the
// limit keeps them far from int overflow.
constexpr int kMaxCount = 1000;

const char* const kTermForm =
    "write terms as [coefficient]name_[sites]label, e.g. CO_g, 2*_s, O-O_2s";

bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)); }
bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)); }
bool is_alpha(char c) { return std::isalpha(static_cast<unsigned char>(c)); }

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string::npos) {
    return "";
  }
  const auto last = text.find_last_not_of(" \t");
  return text.substr(first, last - first + 1);
}

std::vector<std::string> split_states(const std::string& equation) {
  std::vector<std::string> states;
  std::size_t begin = 0;
  std::size_t arrow = equation.find("->");
  while (arrow != std::string::npos) {
    const bool two_way = arrow > begin && equation[arrow - 1] == '<';
    states.push_back(equation.substr(begin, arrow - begin - (two_way ? 1 : 0)));
    begin = arrow + 2;
    arrow = equation.find("->", begin);
  }
  states.push_back(equation.substr(begin));
  return states;
}

std::vector<std::string> split_terms(const std::string& state) {
  std::vector<std::string> terms;
  std::size_t begin = 0;
  while (true) {
    const std::size_t plus = state.find('+', begin);
    terms.push_back(trim(state.substr(begin, plus - begin)));
    if (plus == std::string::npos) {
      return terms;
    }
    begin = plus + 1;
  }
}

// Reads the digits at text[pos] as a number, 0 when there are none.
int read_count(const std::string& term, const std::string& text,
               std::size_t& pos) {
  int count = 0;
  while (pos < text.size() && is_digit(text[pos])) {
    count = count * 10 + (text[pos] - '0');
    if (count > kMaxCount) {
      throw std::invalid_argument("count in term \"" + term + "\" is above " +
                                  std::to_string(kMaxCount));
    }
    ++pos;
  }
  return count;
}

void check_name(const TermSyntax& term) {
  if (term.name.empty()) {
    throw std::invalid_argument("term \"" + term.text + "\" has no name; " +
                                kTermForm);
  }
  if (term.name == "*") {
    return;
  }
  for (char c : term.name) {
    if (!is_alnum(c) && c != '-') {
      throw std::invalid_argument("term \"" + term.text +
                                  "\" has the invalid character '" +
                                  std::string(1, c) + "' in its name; " +
                                  kTermForm);
    }
  }
}

void check_label(const TermSyntax& term) {
  bool valid = !term.label.empty() && is_alpha(term.label[0]);
  for (char c : term.label) {
    valid = valid && is_alnum(c);
  }
  if (!valid) {
    throw std::invalid_argument("term \"" + term.text +
                                "\" has no valid label after '_'; " +
                                kTermForm);
  }
}

}  // namespace

TermSyntax parse_term(const std::string& text) {
  TermSyntax term;
  term.text = text;
  const std::size_t underscore = text.rfind('_');
  if (underscore == std::string::npos) {
    throw std::invalid_argument("term \"" + text + "\" has no '_label'; " +
                                kTermForm);
  }
  const std::string head = text.substr(0, underscore);
  const std::string tail = text.substr(underscore + 1);

  std::size_t pos = 0;
  const int coefficient = read_count(text, head, pos);
  if (pos > 0 && coefficient == 0) {
    throw std::invalid_argument("term \"" + text +
                                "\" has coefficient 0; leave the term out");
  }
  term.coefficient = pos > 0 ? coefficient : 1;
  term.name = head.substr(pos);
  check_name(term);

  pos = 0;
  const int site_count = read_count(text, tail, pos);
  if (pos > 0 && site_count == 0) {
    throw std::invalid_argument("term \"" + text +
                                "\" occupies 0 sites; leave the count out "
                                "for one site");
  }
  term.site_count_written = pos > 0;
  term.site_count = term.site_count_written ? site_count : 1;
  term.label = tail.substr(pos);
  check_label(term);
  return term;
}

namespace {

StateSyntax parse_state(const std::string& state) {
  StateSyntax terms;
  for (const std::string& text : split_terms(state)) {
    if (text.empty()) {
      throw std::invalid_argument("state \"" + trim(state) +
                                  "\" has an empty term; remove the extra "
                                  "'+' or add the missing term");
    }
    terms.push_back(parse_term(text));
  }
  return terms;
}

}  // namespace

std::vector<StateSyntax> parse_equation(const std::string& equation) {
  const std::vector<std::string> states = split_states(equation);
  if (states.size() != 2 && states.size() != 3) {
    throw std::invalid_argument(
        "expected 2 or 3 states separated by '->' or '<->', found " +
        std::to_string(states.size()) +
        "; write IS -> FS or IS <-> TS -> FS");
  }
  std::vector<StateSyntax> parsed;
  for (const std::string& state : states) {
    parsed.push_back(parse_state(state));
  }
  return parsed;
}

}  // namespace mkmap
