#include "model/yaml_reader.hpp"

#include <cmath>
#include <set>

#include "model/parser.hpp"

namespace mkmap {
namespace {

std::string join(const std::vector<std::string>& words) {
  std::string text;
  for (const std::string& word : words) {
    text += (text.empty() ? "" : ", ") + word;
  }
  return text;
}

std::string node_kind(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Null:
      return "empty";
    default:
      return "a scalar";
  }
}

}  // namespace

int line_of(const YAML::Node& node) {
  if (!node.IsDefined()) {
    return 0;
  }
  const YAML::Mark mark = node.Mark();
  return mark.is_null() ? 0 : mark.line + 1;
}

void YamlReader::fail(const YAML::Node& node, const std::string& text,
                      const std::string& problem) const {
  throw ModelError(source_, line_of(node), text, problem);
}

void YamlReader::check_map(const YAML::Node& node, const std::string& what,
                           const std::vector<std::string>& valid_keys) const {
  if (!node.IsMap()) {
    fail(node, what,
         what + " must be a map with keys " + join(valid_keys) + ", not " +
             node_kind(node));
  }
  const std::set<std::string> valid(valid_keys.begin(), valid_keys.end());
  for (const auto& entry : node) {
    const std::string key = entry.first.Scalar();
    if (valid.count(key) == 0) {
      fail(entry.first, key,
           "unknown key in " + what + "; valid keys are " + join(valid_keys));
    }
  }
  check_unique_keys(node, what);
}

void YamlReader::check_named_map(const YAML::Node& node,
                                 const std::string& what,
                                 const std::string& example) const {
  if (!node.IsMap() || node.size() == 0) {
    fail(node, what,
         what + " must be a non-empty map such as " + example + ", not " +
             node_kind(node));
  }
  check_unique_keys(node, what);
}

void YamlReader::check_unique_keys(const YAML::Node& node,
                                   const std::string& what) const {
  std::set<std::string> seen;
  for (const auto& entry : node) {
    const std::string key = entry.first.Scalar();
    if (!seen.insert(key).second) {
      fail(entry.first, key,
           "duplicate key in " + what + "; keep only one of them");
    }
  }
}

YAML::Node YamlReader::require(const YAML::Node& map, const std::string& key,
                               const std::string& what,
                               const std::string& hint) const {
  const YAML::Node value = map[key];
  if (!value.IsDefined()) {
    fail(map, key, "missing in " + what + "; add " + key + ": " + hint);
  }
  return value;
}

double YamlReader::number(const YAML::Node& node,
                          const std::string& key) const {
  if (!node.IsScalar()) {
    fail(node, key, key + " must be a number, not " + node_kind(node));
  }
  double value = 0.0;
  if (!YAML::convert<double>::decode(node, value)) {
    fail(node, node.Scalar(), key + " must be a finite number, such as 1.5e-3");
  }
  if (!std::isfinite(value)) {
    fail(node, node.Scalar(), key + " must be a finite number");
  }
  return value;
}

int YamlReader::integer(const YAML::Node& node, const std::string& key) const {
  int value = 0;
  if (!node.IsScalar() || !YAML::convert<int>::decode(node, value)) {
    fail(node, node.IsScalar() ? node.Scalar() : key,
         key + " must be an integer");
  }
  return value;
}

bool YamlReader::boolean(const YAML::Node& node, const std::string& key) const {
  bool value = false;
  if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) {
    fail(node, node.IsScalar() ? node.Scalar() : key,
         key + " must be true or false");
  }
  return value;
}

std::string YamlReader::scalar(const YAML::Node& node,
                               const std::string& key) const {
  if (!node.IsScalar() || node.Scalar().empty()) {
    fail(node, key, key + " must be a non-empty text, not " + node_kind(node));
  }
  return node.Scalar();
}

std::vector<double> YamlReader::numbers(const YAML::Node& node,
                                        const std::string& key) const {
  if (!node.IsSequence()) {
    fail(node, key,
         key + " must be a list of numbers such as [954, 1890], not " +
             node_kind(node));
  }
  std::vector<double> values;
  for (const YAML::Node& item : node) {
    values.push_back(number(item, key));
  }
  return values;
}

}  // namespace mkmap

