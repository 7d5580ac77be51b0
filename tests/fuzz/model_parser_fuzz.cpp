// libFuzzer target for the YAML model parser. The whole input is the model
// text. The target aborts, so that libFuzzer reports the input, when
// parse_model_text throws anything but ModelError.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "model/parser.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    (void)mkmap::parse_model_text(text, "fuzz.yaml");
  } catch (const mkmap::ModelError&) {
    // The expected rejection of an invalid model.
  } catch (const std::exception& error) {
    std::fprintf(stderr, "model_parser_fuzz: unexpected exception: %s\n", error.what());
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "model_parser_fuzz: unexpected exception of an unknown type\n");
    std::abort();
  }
  return 0;
}
