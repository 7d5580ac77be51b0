// Writes the seed corpus of protocol_fuzz: valid encodings of every message
// type, each behind the selector byte that picks its decoder.
//
// Usage: protocol_corpus_generator OUTPUT_FOLDER

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

#include "protocol/messages.hpp"

namespace protocol = mkmap::protocol;

namespace {

// The first byte protocol_fuzz reads: the decoder of that message type.
char selector(protocol::MessageType type) {
  return static_cast<char>(static_cast<std::uint8_t>(type) - 1);
}

bool write_seed(const std::string& folder, const std::string& name, protocol::MessageType type,
                const std::string& message) {
  const std::string path = folder + "/" + name;
  std::ofstream file(path, std::ios::binary);
  file.put(selector(type));
  file.write(message.data(), static_cast<std::streamsize>(message.size()));
  if (!file) {
    std::fprintf(stderr, "protocol_corpus_generator: failed to write %s; check that the folder exists\n", path.c_str());
    return false;
  }
  return true;
}

const char* const kModel =
    "temperature: 500\nsites:\n  s: {total: 1.0}\nproduct: CO2\n";

protocol::Task task_seed() {
  protocol::Task task;
  task.run_id = "e418cd5a31a92441";
  task.chunk_id = 3;
  task.attempt = 2;
  task.model_yaml = kModel;
  task.x_axis = "CO:1e-05:0.5:10:lin";
  task.y_axis = "T:400:700:31:log";
  task.points = {{0, 1.0e-5, 400.0}, {1, 0.25, 512.5}, {99, 0.5, 700.0}};
  return task;
}

protocol::Result result_seed() {
  protocol::Result result;
  result.run_id = "e418cd5a31a92441";
  result.chunk_id = 7;
  result.attempt = 1;
  result.worker_threads = 4;
  mkmap::PointResult converged;
  converged.index = 70;
  converged.status = mkmap::PointStatus::converged;
  converged.tof = 1.25e3;
  converged.coverages = {0.5, 0.25, 0.25};
  converged.residual = 3.5e-12;
  converged.site_sum_error = 1.1e-16;
  converged.balance_error = 2.5e-14;
  converged.iterations = 17;
  converged.solve_time_s = 0.0125;
  converged.precision = mkmap::Precision::extended_precision;
  converged.branch_tofs = {2.5e-3, 1.25e3};
  converged.net_rates = {2.5e3, 1.25e3, 1.25e3};
  converged.reversibilities = {1e-9, std::nan(""), 0.5};
  mkmap::PointResult failed;
  failed.index = 71;
  failed.reason = "no stable root by the last checkpoint";
  failed.residual = 0.5;
  result.points = {converged, failed};
  return result;
}

protocol::Status status_seed() {
  protocol::Status status;
  status.run_id = "e418cd5a31a92441";
  status.done_points = 40;
  status.total_points = 100;
  status.done_chunks = {{0, 3}, {5, 6}, {8, 10}};
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: protocol_corpus_generator OUTPUT_FOLDER\n");
    return 2;
  }
  const std::string folder = argv[1];
  using protocol::MessageType;

  protocol::Task empty_task;
  empty_task.run_id = "0000000000000000";

  protocol::Run run;
  run.run_id = "e418cd5a31a92441";
  run.model_yaml = kModel;
  run.model_source = "examples/co_oxidation.yaml";
  run.x_axis = "CO:1e-05:0.5:10:lin";
  run.y_axis = "O2:1e-05:0.5:10:lin";
  run.chunk_size = 10;

  protocol::Status complete = status_seed();
  complete.done_points = 100;
  complete.complete = true;
  complete.done_chunks = {{0, 10}};

  const protocol::Ready first_ready{"", 6, 0, 4};
  const protocol::Ready ready{"e418cd5a31a92441", 2, 12, 4};
  const protocol::GiveUp give_up{"e418cd5a31a92441", 5, 3, "worker exited while solving"};
  const protocol::DispatchStats stats{"e418cd5a31a92441", 3, 1, 2, 1};

  const bool written =
      write_seed(folder, "task", MessageType::task, protocol::encode(task_seed())) &&
      write_seed(folder, "task-empty", MessageType::task, protocol::encode(empty_task)) &&
      write_seed(folder, "result", MessageType::result, protocol::encode(result_seed())) &&
      write_seed(folder, "run", MessageType::run, protocol::encode(run)) &&
      write_seed(folder, "status", MessageType::status, protocol::encode(status_seed())) &&
      write_seed(folder, "status-complete", MessageType::status, protocol::encode(complete)) &&
      write_seed(folder, "ready-first", MessageType::ready, protocol::encode(first_ready)) &&
      write_seed(folder, "ready", MessageType::ready, protocol::encode(ready)) &&
      write_seed(folder, "give-up", MessageType::give_up, protocol::encode(give_up)) &&
      write_seed(folder, "dispatch-stats", MessageType::dispatch_stats,
                 protocol::encode(stats));
  return written ? 0 : 1;
}
