// mkmap-ventilator: splits a map into chunks and hands them to workers.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "model/parser.hpp"
#include "model/scan.hpp"
#include "pipeline/logging.hpp"
#include "pipeline/signals.hpp"
#include "pipeline/ventilator_server.hpp"
#include "protocol/messages.hpp"

int main(int argc, char** argv) {
  mkmap::VentilatorConfig config;
  std::string model_file;
  std::string x_spec;
  std::string y_spec;
  std::string keys_dir = config.security.keys_dir.string();
  bool no_curve = false;
  bool verbose = false;
  bool print_model = false;
  double sink_timeout_s = 30.0;
  double lease_time_s = 300.0;
  double worker_timeout_s = 5.0;
  bool no_backups = false;

  CLI::App app{"mkmap ventilator: reads a model and its 2D scan, announces the run to the "
               "sink and hands chunks of grid points to workers that have free slots, "
               "re-sending chunks whose worker vanished; exits when the sink reports the run "
               "complete. Pressures are p/p0 with p0 = 101325 Pa, temperatures in K."};
  app.add_option("--model", model_file,
                 "model file (YAML); default: the embedded CO-oxidation model")
      ->check(CLI::ExistingFile);
  app.add_option("--x", x_spec,
                 "override the x axis: VARIABLE:FROM:TO:POINTS[:lin|log], VARIABLE a gas "
                 "(pressure, p/p0) or T (K); e.g. CO:1e-5:0.5:10");
  app.add_option("--y", y_spec, "override the y axis, same form as --x");
  app.add_option("--chunk-size", config.chunk_size, "grid points per chunk")
      ->check(CLI::Range(std::int64_t{1}, static_cast<std::int64_t>(mkmap::protocol::kMaxChunkPoints)))
      ->capture_default_str();
  app.add_option("--tasks", config.tasks_endpoint, "endpoint to bind for workers")
      ->capture_default_str();
  app.add_option("--sink", config.sink_endpoint, "the sink's results endpoint")
      ->capture_default_str();
  app.add_option("--status", config.status_endpoint, "the sink's status endpoint")
      ->capture_default_str();
  app.add_option("--keys", keys_dir,
                 "folder with server.key, server.key_secret and authorized/ (worker public keys)")
      ->capture_default_str();
  app.add_flag("--no-curve", no_curve,
               "turn CURVE encryption and authentication off (trusted machines only)");
  app.add_option("--endpoint-file", config.endpoint_file,
                 "file to write the bound tasks endpoint to, as a tasks=endpoint line");
  app.add_option("--sink-timeout", sink_timeout_s,
                 "seconds [s] to wait for the sink to acknowledge the run")
      ->check(CLI::Range(1.0, 86400.0))
      ->capture_default_str();
  app.add_option("--lease-time", lease_time_s,
                 "seconds [s] a worker has to return a chunk before it is sent elsewhere")
      ->check(CLI::Range(1.0, 1e6))
      ->capture_default_str();
  app.add_option("--worker-timeout", worker_timeout_s,
                 "seconds [s] of silence after which a worker counts as gone and its chunks "
                 "are sent elsewhere (workers send a heartbeat every second)")
      ->check(CLI::Range(2.0, 3600.0))
      ->capture_default_str();
  app.add_option("--max-attempts", config.ledger.max_failures,
                 "failed attempts (lease expired or worker gone) after which a chunk is given "
                 "up and its points are marked failed")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_flag("--no-backups", no_backups,
               "do not send outstanding chunks to idle workers at the end of a run");
  app.add_flag("--print-default-model", print_model,
               "print the embedded default model (YAML) and exit");
  app.add_flag("-v,--verbose", verbose, "log debug messages");

  app.footer("Exit codes: 0 run complete, 1 error, 2 invalid option, 130 stopped by a signal.");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error) == 0 ? 0 : 2;
  }
  if (print_model) {
    std::fputs(mkmap::default_model_text().c_str(), stdout);
    return 0;
  }

  mkmap::setup_logging("ventilator", verbose);
  mkmap::install_stop_handlers();
  config.security.curve = !no_curve;
  config.security.keys_dir = keys_dir;
  config.sink_timeout = std::chrono::milliseconds(static_cast<long>(sink_timeout_s * 1000));
  config.ledger.lease_time = std::chrono::milliseconds(static_cast<long>(lease_time_s * 1000));
  config.ledger.worker_timeout =
      std::chrono::milliseconds(static_cast<long>(worker_timeout_s * 1000));
  config.ledger.backups = !no_backups;

  mkmap::Model model;
  try {
    model = model_file.empty() ? mkmap::default_model() : mkmap::parse_model_file(model_file);
    if (!x_spec.empty()) model.scan[0] = mkmap::parse_axis_override(x_spec, model, "--x");
    if (!y_spec.empty()) model.scan[1] = mkmap::parse_axis_override(y_spec, model, "--y");
    mkmap::check_distinct_axes(model, model.scan[0], model.scan[1]);
  } catch (const mkmap::ModelError& error) {
    spdlog::error("{}", error.what());
    return 1;
  }

  try {
    return mkmap::run_ventilator(config, model);
  } catch (const zmq::error_t& error) {
    spdlog::error("cannot open the ventilator's sockets (bind {}, connect {} and {}): {}",
                  config.tasks_endpoint, config.sink_endpoint, config.status_endpoint,
                  error.what());
  } catch (const std::exception& error) {
    spdlog::error("{}", error.what());
  }
  return 1;
}
