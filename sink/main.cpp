// mkmap-sink: collects the results of a run into map.csv and map.json.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "pipeline/logging.hpp"
#include "pipeline/signals.hpp"
#include "pipeline/sink_server.hpp"

int main(int argc, char** argv) {
  mkmap::SinkConfig config;
  std::string keys_dir = config.security.keys_dir.string();
  bool no_curve = false;
  bool verbose = false;
  double announce_time_s = 3.0;

  CLI::App app{"mkmap sink: collects the solved points of a run, prints one progress line "
               "per second on stdout, writes map.csv and map.json into the output folder "
               "and announces completion."};
  app.add_option("--results", config.results_endpoint,
                 "endpoint to bind for results from workers and the run announcement")
      ->capture_default_str();
  app.add_option("--status", config.status_endpoint,
                 "endpoint to bind for the status broadcast (progress and completion)")
      ->capture_default_str();
  app.add_option("--output", config.output_dir, "folder for map.csv and map.json")
      ->capture_default_str();
  app.add_option("--keys", keys_dir,
                 "folder with server.key, server.key_secret and authorized/ (worker public keys)")
      ->capture_default_str();
  app.add_flag("--no-curve", no_curve,
               "turn CURVE encryption and authentication off (trusted machines only)");
  app.add_option("--endpoint-file", config.endpoint_file,
                 "file to write the bound endpoints to, as role=endpoint lines (for port *)");
  app.add_option("--announce-time", announce_time_s,
                 "seconds [s] to keep announcing completion before exiting")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  app.add_flag("-v,--verbose", verbose, "log debug messages");

  app.footer("Exit codes: 0 map written, 1 error, 2 invalid option, 130 stopped by a signal.");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error) == 0 ? 0 : 2;
  }

  mkmap::setup_logging("sink", verbose);
  mkmap::install_stop_handlers();
  config.security.curve = !no_curve;
  config.security.keys_dir = keys_dir;
  config.announce_time = std::chrono::milliseconds(static_cast<long>(announce_time_s * 1000));

  try {
    return mkmap::run_sink(config, [](const std::string& line) {
      std::printf("%s\n", line.c_str());
      std::fflush(stdout);
    });
  } catch (const zmq::error_t& error) {
    spdlog::error("cannot open the sink's sockets ({} and {}): {}", config.results_endpoint,
                  config.status_endpoint, error.what());
  } catch (const std::exception& error) {
    spdlog::error("{}", error.what());
  }
  return 1;
}
