#include "model/parser.hpp"

namespace mkmap {
namespace {

std::string format_model_error(const std::string& source, int line,
                               const std::string& text,
                               const std::string& problem) {
  std::string message = source;
  if (line > 0) {
    message += ":" + std::to_string(line);
  }
  message += ": ";
  if (!text.empty()) {
    message += "\"" + text + "\": ";
  }
  return message + problem;
}

}  // namespace

ModelError::ModelError(const std::string& source, int line,
                       const std::string& text, const std::string& problem)
    : std::runtime_error(format_model_error(source, line, text, problem)),
      source_(source),
      line_(line),
      text_(text),
      problem_(problem) {}

}  // namespace mkmap
