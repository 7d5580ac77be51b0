#pragma once
// The sink: collects results into the maps, reports progress once a
// second, writes the map files and announces completion.

#include <chrono>
#include <functional>
#include <string>

#include "pipeline/security.hpp"

namespace mkmap {

struct SinkConfig {
  std::string results_endpoint = "tcp://127.0.0.1:5558";  ///< PULL, bound
  std::string status_endpoint = "tcp://127.0.0.1:5559";   ///< PUB, bound
  std::string output_dir = "out";
  /// File that receives the bound endpoints as role=endpoint lines; empty
  /// for none. Useful with port "*".
  std::string endpoint_file;
  /// How long completion is re-published before the sink exits, so that
  /// every worker hears it.
  std::chrono::milliseconds announce_time{3000};
  SecurityConfig security;
};

/// Receives one progress line (no trailing newline).
using ProgressOutput = std::function<void(const std::string&)>;

/// Runs the sink until its run is complete and announced, or a stop signal
/// arrives. Returns the process exit code: 0 when the map was written.
/// Throws: on set-up errors (keys, endpoints, output folder).
int run_sink(const SinkConfig& config, const ProgressOutput& progress);

}  // namespace mkmap
