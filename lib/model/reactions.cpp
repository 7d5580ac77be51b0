#include "model/reactions.hpp"

#include <stdexcept>

#include "model/equation.hpp"
#include "model/formula.hpp"

namespace mkmap {
namespace {

/// Atoms and occupied sites per site type of one state.
struct StateBalance {
  ElementCounts elements;
  std::vector<int> sites;
};

enum class StateRole { initial, transition, final };

const char* role_name(StateRole role) {
  switch (role) {
    case StateRole::initial:
      return "IS";
    case StateRole::transition:
      return "TS";
    default:
      return "FS";
  }
}

template <typename Item>
int find_by_name(const std::vector<Item>& items, const std::string& name) {
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (items[i].name == name) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

/// Builds one Step from its equation, resolving names against the model.
class StepBuilder {
 public:
  StepBuilder(const YamlReader& reader, const YAML::Node& equation_node,
              Model& model)
      : reader_(reader), node_(equation_node), model_(model) {}

  Step build(const std::string& equation) {
    equation_ = equation;
    std::vector<StateSyntax> states;
    try {
      states = parse_equation(equation);
    } catch (const std::invalid_argument& error) {
      fail(error.what());
    }

    Step step;
    step.equation = equation;
    step.line = line_of(node_);
    const bool has_ts = states.size() == 3;
    step.initial = resolve_state(states.front(), StateRole::initial, balances_[0]);
    if (has_ts) {
      step.transition = resolve_state(states[1], StateRole::transition, balances_[1]);
    }
    step.final = resolve_state(states.back(), StateRole::final, balances_[2]);

    check_conserved(StateRole::final);
    if (has_ts) {
      check_conserved(StateRole::transition);
    }
    return step;
  }

 private:
  [[noreturn]] void fail(const std::string& problem) const {
    reader_.fail(node_, equation_, problem);
  }

  std::vector<Term> resolve_state(const StateSyntax& syntax, StateRole role,
                                  StateBalance& balance) {
    balance.sites.assign(model_.sites.size(), 0);
    bool has_transition_state = false;
    std::vector<Term> terms;
    for (const TermSyntax& term : syntax) {
      terms.push_back(resolve_term(term, role, balance));
      has_transition_state = has_transition_state ||
                             terms.back().kind == TermKind::transition_state;
    }
    if (role == StateRole::transition && !has_transition_state) {
      fail("middle state \"" + state_text(syntax) +
           "\" is not a transition state; a transition state must contain "
           "'-', as in CO-O_2s");
    }
    return terms;
  }

  Term resolve_term(const TermSyntax& syntax, StateRole role,
                    StateBalance& balance) {
    if (syntax.label == "g") {
      return resolve_gas(syntax, balance);
    }
    const int site = find_by_name(model_.sites, syntax.label);
    if (site < 0 && syntax.name.find('-') != std::string::npos) {
      fail("site type '" + syntax.label + "' of transition state \"" + syntax.text +
           "\" is not declared in sites; a transition state spans sites of one "
           "type, so write a step between site types without one, as IS -> FS");
    }
    if (site < 0) {
      fail("site type '" + syntax.label + "' of term \"" + syntax.text +
           "\" is not declared in sites; declare it there or fix the label");
    }
    if (syntax.name == "*") {
      return resolve_free_site(syntax, site, balance);
    }
    if (syntax.name.find('-') != std::string::npos) {
      return resolve_transition_state(syntax, role, site, balance);
    }
    return resolve_adsorbate(syntax, site, balance);
  }

  Term resolve_gas(const TermSyntax& syntax, StateBalance& balance) {
    if (syntax.name == "*" || syntax.name.find('-') != std::string::npos ||
        syntax.site_count_written) {
      fail("gas term \"" + syntax.text +
           "\" has a site count, '*' or '-'; write a gas as "
           "[coefficient]name_g, e.g. CO_g");
    }
    const int gas = find_by_name(model_.gases, syntax.name);
    if (gas < 0) {
      fail("gas '" + syntax.name + "' is not declared in gases; add it there");
    }
    add_elements(balance.elements, model_.gases[gas].elements,
                 syntax.coefficient);
    return make_term(syntax, TermKind::gas, gas);
  }

  Term resolve_free_site(const TermSyntax& syntax, int site,
                         StateBalance& balance) {
    if (syntax.site_count_written) {
      fail("free-site term \"" + syntax.text + "\" has a site count; write " +
           "N free sites as N*_" + syntax.label);
    }
    balance.sites[site] += syntax.coefficient;
    return make_term(syntax, TermKind::free_site, site);
  }

  Term resolve_transition_state(const TermSyntax& syntax, StateRole role,
                                int site, StateBalance& balance) {
    if (role != StateRole::transition) {
      fail("transition state \"" + syntax.text + "\" appears in the " +
           role_name(role) +
           "; a name with '-' is allowed only in the middle state of "
           "IS <-> TS -> FS");
    }
    add_elements(balance.elements, species_elements(syntax, true),
                 syntax.coefficient);
    balance.sites[site] += syntax.coefficient * syntax.site_count;
    return make_term(syntax, TermKind::transition_state, -1);
  }

  Term resolve_adsorbate(const TermSyntax& syntax, int site,
                         StateBalance& balance) {
    const int index = find_or_add_adsorbate(syntax, site);
    add_elements(balance.elements, model_.adsorbates[index].elements,
                 syntax.coefficient);
    balance.sites[site] += syntax.coefficient * syntax.site_count;
    return make_term(syntax, TermKind::adsorbate, index);
  }

  int find_or_add_adsorbate(const TermSyntax& syntax, int site) {
    for (std::size_t i = 0; i < model_.adsorbates.size(); ++i) {
      const Adsorbate& known = model_.adsorbates[i];
      if (known.name != syntax.name || known.site != site) {
        continue;
      }
      if (known.site_count != syntax.site_count) {
        fail("adsorbate " + syntax.name + " on site type '" + syntax.label +
             "' occupies " + std::to_string(syntax.site_count) +
             " site(s) in \"" + syntax.text + "\" but " +
             std::to_string(known.site_count) +
             " in an earlier step; use one site count per adsorbate");
      }
      return static_cast<int>(i);
    }
    Adsorbate adsorbate;
    adsorbate.name = syntax.name;
    adsorbate.site = site;
    adsorbate.site_count = syntax.site_count;
    adsorbate.elements = species_elements(syntax, false);
    model_.adsorbates.push_back(adsorbate);
    return static_cast<int>(model_.adsorbates.size() - 1);
  }

  ElementCounts species_elements(const TermSyntax& syntax,
                                 bool transition_state) const {
    try {
      return transition_state ? parse_transition_state_formula(syntax.name)
                              : parse_formula(syntax.name);
    } catch (const std::invalid_argument& error) {
      fail(error.what());
    }
  }

  void check_conserved(StateRole role) const {
    const StateBalance& initial = balances_[0];
    const StateBalance& other = balances_[role == StateRole::final ? 2 : 1];
    if (initial.elements != other.elements) {
      fail(std::string("elements not conserved (IS has ") +
           format_elements(initial.elements) + ", " + role_name(role) +
           " has " + format_elements(other.elements) +
           "); check the equation");
    }
    for (std::size_t site = 0; site < model_.sites.size(); ++site) {
      if (initial.sites[site] != other.sites[site]) {
        fail("sites of type '" + model_.sites[site].name +
             "' not conserved (IS has " + std::to_string(initial.sites[site]) +
             ", " + role_name(role) + " has " +
             std::to_string(other.sites[site]) +
             "); balance free sites and site counts");
      }
    }
  }

  static Term make_term(const TermSyntax& syntax, TermKind kind, int index) {
    Term term;
    term.kind = kind;
    term.index = index;
    term.coefficient = syntax.coefficient;
    term.text = syntax.text;
    return term;
  }

  static std::string state_text(const StateSyntax& syntax) {
    std::string text;
    for (const TermSyntax& term : syntax) {
      text += (text.empty() ? "" : " + ") + term.text;
    }
    return text;
  }

  const YamlReader& reader_;
  const YAML::Node& node_;
  Model& model_;
  std::string equation_;
  /// Balances of IS, TS and FS.
  StateBalance balances_[3];
};

// Reads Ga and dG [eV] and applies the rule that an uphill step cannot be
// barrierless: Ga = 0 with dG > 0 becomes Ga = dG.
void read_energies(const YamlReader& reader, const YAML::Node& reaction,
                   const std::string& what, Step& step) {
  const YAML::Node ga_node = reader.require(
      reaction, "Ga", what, "<forward barrier in eV>, or kf and kr");
  const YAML::Node dg_node = reader.require(
      reaction, "dG", what, "<reaction free energy in eV>, or kf and kr");
  step.Ga_eV = reader.number(ga_node, "Ga");
  step.dG_eV = reader.number(dg_node, "dG");
  if (step.Ga_eV < 0.0) {
    reader.fail(ga_node, ga_node.Scalar(),
                "Ga is a forward barrier and must be >= 0 eV");
  }
  if (step.Ga_eV == 0.0 && step.dG_eV > 0.0) {
    step.Ga_eV = step.dG_eV;
  }
}

// Reads the given rate constants kf and kr [1/s]; a step that gives them
// has no energies and no rate rule.
void read_given_constants(const YamlReader& reader, const YAML::Node& reaction,
                          const std::string& what, Step& step) {
  for (const char* key : {"Ga", "dG", "rate_constants"}) {
    if (reaction[key].IsDefined()) {
      reader.fail(reaction[key], key,
                  std::string(key) + " cannot be combined with kf and kr; give "
                  "either Ga and dG or kf and kr");
    }
  }
  const YAML::Node kf = reader.require(reaction, "kf", what,
                                       "<forward rate constant in 1/s>");
  const YAML::Node kr = reader.require(reaction, "kr", what,
                                       "<reverse rate constant in 1/s>");
  step.kf = reader.number(kf, "kf");
  step.kr = reader.number(kr, "kr");
  for (const auto& [node, value] : {std::pair(kf, step.kf), std::pair(kr, step.kr)}) {
    if (value < 0.0) {
      reader.fail(node, node.Scalar(), "a rate constant must be >= 0 1/s");
    }
  }
  step.rule = RateRule::given;
}

Step parse_reaction(const YamlReader& reader, const YAML::Node& reaction,
                    std::size_t number, Model& model) {
  const std::string what = "reaction " + std::to_string(number);
  reader.check_map(reaction, what,
                   {"equation", "Ga", "dG", "rate_constants", "kf", "kr"});
  const YAML::Node equation_node = reader.require(
      reaction, "equation", what, "\"IS -> FS\" or \"IS <-> TS -> FS\"");
  const std::string equation = reader.scalar(equation_node, "equation");

  Step step = StepBuilder(reader, equation_node, model).build(equation);
  if (reaction["kf"].IsDefined() || reaction["kr"].IsDefined()) {
    read_given_constants(reader, reaction, what, step);
    return step;
  }
  read_energies(reader, reaction, what, step);
  step.rule = model.default_rule;
  if (reaction["rate_constants"].IsDefined()) {
    step.rule = parse_rate_rule(reader, reaction["rate_constants"]);
  }
  return step;
}

}  // namespace

RateRule parse_rate_rule(const YamlReader& reader, const YAML::Node& node) {
  const std::string name = reader.scalar(node, "rate_constants");
  if (name == "collision") return RateRule::collision;
  if (name == "tst") return RateRule::transition_state;
  reader.fail(node, name,
              "unknown rate_constants; use collision (collision theory for "
              "adsorption) or tst (transition-state theory for every step)");
}

void parse_reactions(const YamlReader& reader, const YAML::Node& reactions,
                     Model& model) {
  if (!reactions.IsSequence() || reactions.size() == 0) {
    reader.fail(reactions, "reactions",
                "reactions must be a non-empty list of "
                "{equation, Ga, dG} or {equation, kf, kr} entries");
  }
  std::size_t number = 1;
  for (const YAML::Node& reaction : reactions) {
    model.steps.push_back(parse_reaction(reader, reaction, number++, model));
  }
}

}  // namespace mkmap
