// mkmap-worker: solves chunks of grid points on one thread per core.

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "pipeline/logging.hpp"
#include "pipeline/signals.hpp"
#include "pipeline/worker_client.hpp"

int main(int argc, char** argv) {
  mkmap::WorkerConfig config;
  std::string key_file = config.key_file.string();
  std::string server_key_file = config.server_key_file.string();
  bool no_curve = false;
  bool verbose = false;

  CLI::App app{"mkmap worker: connects to a ventilator and a sink, solves the chunks it "
               "receives on its solver threads and sends the results to the sink; exits "
               "when its run is complete, unless --persistent."};
  app.add_option("--tasks", config.tasks_endpoint, "the ventilator's tasks endpoint")
      ->capture_default_str();
  app.add_option("--results", config.results_endpoint, "the sink's results endpoint")
      ->capture_default_str();
  app.add_option("--status", config.status_endpoint, "the sink's status endpoint")
      ->capture_default_str();
  app.add_option("--threads", config.threads,
                 "solver threads; 0 means one per hardware thread")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  app.add_option("--prefetch", config.prefetch,
                 "chunks held beyond one per solver thread")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  app.add_option("--key", key_file, "this worker's secret key file (mode 0600)")
      ->capture_default_str();
  app.add_option("--server-key", server_key_file, "the servers' public key file")
      ->capture_default_str();
  app.add_flag("--no-curve", no_curve,
               "turn CURVE encryption and authentication off (trusted machines only)");
  app.add_option("--max-handshake-failures", config.max_handshake_failures,
                 "failed handshakes in a row before the worker gives up")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_flag("--persistent", config.persistent,
               "keep running after a run completes and serve the next run on the same "
               "endpoints");
  long idle_timeout_s = config.idle_timeout.count();
  app.add_option("--idle-timeout", idle_timeout_s,
                 "seconds [s] without a message from the ventilator or the sink after which a "
                 "worker that is not --persistent exits with status 0; 0 waits forever")
      ->check(CLI::Range(0L, 31536000L))
      ->capture_default_str();
  app.add_flag("-v,--verbose", verbose, "log debug messages");

  app.footer("Exit codes: 0 run complete or idle timeout, 1 error, 2 invalid option, 3 key rejected, 4 handshake failing, 130 stopped by a signal.");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error) == 0 ? 0 : 2;
  }

  mkmap::setup_logging("worker", verbose);
  mkmap::install_stop_handlers();
  config.curve = !no_curve;
  config.key_file = key_file;
  config.server_key_file = server_key_file;
  config.idle_timeout = std::chrono::seconds(idle_timeout_s);

  try {
    return mkmap::run_worker(config);
  } catch (const zmq::error_t& error) {
    spdlog::error("cannot open the worker's sockets ({}, {}, {}): {}", config.tasks_endpoint,
                  config.results_endpoint, config.status_endpoint, error.what());
  } catch (const std::exception& error) {
    spdlog::error("{}", error.what());
  }
  return 1;
}
