#pragma once
// Logger set-up for the binaries: log lines go to stderr, so stdout stays
// free for the sink's progress lines.

#include <string>

namespace mkmap {

/// Makes spdlog's default logger write "time [process] level message" to
/// stderr; debug level when verbose.
void setup_logging(const std::string& process_name, bool verbose);

}  // namespace mkmap
