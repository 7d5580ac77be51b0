#pragma once
// The worker: offers its free slots to the ventilator, solves the chunks it
// receives on a pool of solver threads and pushes the results to the sink.

#include <chrono>
#include <filesystem>
#include <string>

namespace mkmap {

struct WorkerConfig {
  std::string tasks_endpoint = "tcp://127.0.0.1:5557";    ///< ventilator ROUTER
  std::string results_endpoint = "tcp://127.0.0.1:5558";  ///< sink PULL
  std::string status_endpoint = "tcp://127.0.0.1:5559";   ///< sink PUB
  /// Solver threads; 0 means one per hardware thread.
  int threads = 0;
  /// Chunks held beyond one per solver thread, so a thread that finishes
  /// finds its next chunk waiting; the ventilator sends no more than that.
  int prefetch = 1;
  /// False only when the user turned CURVE off explicitly.
  bool curve = true;
  std::filesystem::path key_file = "keys/worker.key_secret";
  std::filesystem::path server_key_file = "keys/server.key";
  /// Give up after this many failed handshakes in a row.
  int max_handshake_failures = 5;
  /// Keep serving after a run completes, for the next run on the same
  /// endpoints, instead of exiting.
  bool persistent = false;
  /// A worker that is not persistent exits with status 0 after hearing
  /// nothing from the ventilator or the sink for this long; 0 waits forever.
  std::chrono::seconds idle_timeout{600};
};

/// Process exit codes of the worker.
enum WorkerExit : int {
  kWorkerDone = 0,
  kWorkerKeyRejected = 3,
  kWorkerHandshakeFailing = 4,
  kWorkerStopped = 130,
};

/// Runs the worker until its run completes (unless persistent) or a stop
/// signal arrives.
/// Returns a WorkerExit code. Throws: on set-up errors (keys, endpoints).
int run_worker(const WorkerConfig& config);

}  // namespace mkmap
