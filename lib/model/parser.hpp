#pragma once
// Reading and validating YAML model files.

#include <stdexcept>
#include <string>

#include "model/model.hpp"

namespace mkmap {

/// An invalid model: names the source, the line and the offending text.
///
/// what() reads `SOURCE:LINE: "TEXT": PROBLEM`. The `:LINE` part is left out
/// when line is 0 and the `"TEXT": ` part when text is empty. PROBLEM
/// describes the fault and the fix, e.g. `co.yaml:17: "CO_g + *_s -> CO2_s":
/// elements not conserved (IS has C1 O1, FS has C1 O2); check the equation`.
class ModelError : public std::runtime_error {
 public:
  /// line is 1-based, 0 when the error has no single line.
  ModelError(const std::string& source, int line, const std::string& text,
             const std::string& problem);
  const std::string& source() const noexcept { return source_; }
  int line() const noexcept { return line_; }
  const std::string& text() const noexcept { return text_; }
  /// Description of the fault and the fix, without source, line and text.
  const std::string& problem() const noexcept { return problem_; }

 private:
  std::string source_;
  int line_;
  std::string text_;
  std::string problem_;
};

/// Parses and validates a model from YAML text.
/// Throws: ModelError on any invalid content.
Model parse_model_text(const std::string& yaml_text, const std::string& source_name);

/// Reads and parses a model file.
/// Throws: ModelError when the file cannot be read or is invalid.
Model parse_model_file(const std::string& path);

/// Returns the YAML text of the embedded default CO-oxidation model.
const std::string& default_model_text();

/// Returns the parsed embedded default model.
Model default_model();

}  // namespace mkmap
