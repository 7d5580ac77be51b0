#pragma once
// The ventilator: announces the run to the sink, hands out chunks of grid
// points to workers that offer capacity, re-dispatches chunks whose lease
// expired or whose worker vanished, and exits when the sink reports the
// run complete.

#include <chrono>
#include <cstdint>
#include <string>

#include "model/model.hpp"
#include "pipeline/chunk_ledger.hpp"
#include "pipeline/security.hpp"

namespace mkmap {

struct VentilatorConfig {
  std::string tasks_endpoint = "tcp://127.0.0.1:5557";    ///< ROUTER, bound
  std::string sink_endpoint = "tcp://127.0.0.1:5558";     ///< sink results, connected
  std::string status_endpoint = "tcp://127.0.0.1:5559";   ///< sink status, connected
  std::int64_t chunk_size = 4;                            ///< grid points per chunk
  /// File that receives the bound endpoint as a tasks=endpoint line.
  std::string endpoint_file;
  /// Give up when the sink has not acknowledged the run within this time.
  std::chrono::milliseconds sink_timeout{30000};
  /// Leases, failure limit and backups.
  LedgerConfig ledger;
  SecurityConfig security;
};

/// Runs the ventilator for model (its scan already final) until the sink
/// reports completion. Returns the exit code: 0 on completion.
/// Throws: on set-up errors (keys, endpoints, chunk size).
int run_ventilator(const VentilatorConfig& config, const Model& model);

}  // namespace mkmap
