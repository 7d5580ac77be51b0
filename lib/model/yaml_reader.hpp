#pragma once
// Typed access to YAML nodes that turns every problem into a ModelError
// naming the source, the line and the offending text. Used only inside the
// model library, which links yaml-cpp privately.

#include <string>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace mkmap {

/// Returns the 1-based line of a node, 0 when yaml-cpp has no position.
int line_of(const YAML::Node& node);

/// Reader of one model source. The `what` arguments name the enclosing item
/// for messages, e.g. `gas "CO"` or `scan axis x`.
class YamlReader {
 public:
  explicit YamlReader(std::string source) : source_(std::move(source)) {}

  const std::string& source() const noexcept { return source_; }

  /// Throws: ModelError at the line of node.
  [[noreturn]] void fail(const YAML::Node& node, const std::string& text,
                         const std::string& problem) const;

  /// Checks that node is a map whose keys are unique and among valid_keys.
  /// Throws: ModelError naming the key and listing the valid ones.
  void check_map(const YAML::Node& node, const std::string& what,
                 const std::vector<std::string>& valid_keys) const;

  /// Checks that node is a non-empty map with unique keys, whatever they are.
  /// Throws: ModelError naming the duplicate key, with example as a valid form.
  void check_named_map(const YAML::Node& node, const std::string& what,
                       const std::string& example) const;

  /// Returns map[key].
  /// Throws: ModelError when the key is missing, with hint as the value to add.
  YAML::Node require(const YAML::Node& map, const std::string& key,
                     const std::string& what, const std::string& hint) const;

  /// Throws: ModelError unless node is a finite number.
  double number(const YAML::Node& node, const std::string& key) const;
  /// Throws: ModelError unless node is an integer.
  int integer(const YAML::Node& node, const std::string& key) const;
  /// Throws: ModelError unless node is true or false.
  bool boolean(const YAML::Node& node, const std::string& key) const;
  /// Throws: ModelError unless node is a non-empty scalar.
  std::string scalar(const YAML::Node& node, const std::string& key) const;
  /// Throws: ModelError unless node is a list of finite numbers.
  std::vector<double> numbers(const YAML::Node& node,
                              const std::string& key) const;

 private:
  void check_unique_keys(const YAML::Node& node, const std::string& what) const;

  std::string source_;
};

}  // namespace mkmap
