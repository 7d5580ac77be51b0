#include "pipeline/sink_server.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "model/parser.hpp"
#include "output/journal.hpp"
#include "output/map_assembler.hpp"
#include "pipeline/signals.hpp"
#include "protocol/messages.hpp"
#include "protocol/run_plan.hpp"
#include "transport/endpoint_file.hpp"
#include "transport/socket_options.hpp"

namespace mkmap {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kPollTimeout{100};
constexpr std::chrono::milliseconds kProgressInterval{1000};
// Status is published this often while a run goes on, and faster while
// completion is being announced.
constexpr std::chrono::milliseconds kStatusInterval{500};
constexpr std::chrono::milliseconds kAnnounceInterval{200};
// At most this many rejected-message warnings per progress interval.
constexpr int kMaxRejectionLogsPerInterval = 5;
// A map that cannot be written is tried again at this interval, and the
// results stay in memory and in the journal meanwhile.
constexpr std::chrono::milliseconds kWriteRetryInterval{5000};

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds)) return "unknown";
  char buffer[32];
  if (seconds < 10) {
    std::snprintf(buffer, sizeof buffer, "%.2f s", seconds);
  } else if (seconds < 120) {
    std::snprintf(buffer, sizeof buffer, "%.0f s", seconds);
  } else if (seconds < 7200) {
    std::snprintf(buffer, sizeof buffer, "%.1f min", seconds / 60);
  } else {
    std::snprintf(buffer, sizeof buffer, "%.1f h", seconds / 3600);
  }
  return buffer;
}

class Sink {
 public:
  Sink(const SinkConfig& config, const ProgressOutput& progress)
      : config_(config), progress_(progress), security_(context_, config.security) {}

  int run();

 private:
  int serve();
  void bind_sockets();
  void handle_message(zmq::message_t& msg);
  void handle_bytes(const std::string& bytes, const std::string& peer);
  void handle_run(const protocol::Run& run, const std::string& bytes);
  void handle_result(const protocol::Result& result, const std::string& worker,
                     const std::string& bytes);
  void handle_give_up(const protocol::GiveUp& give_up, const std::string& bytes);
  void resume_from_journal();
  void check_output_folder() const;
  void record(const std::string& bytes);
  std::string journal_path() const { return config_.output_dir + "/journal.mkmap"; }
  bool from_ventilator(const std::string& peer) const;
  void reject(const std::string& peer, const std::string& reason);
  void publish_status();
  void report_progress();
  bool finish();
  void write_partial_map();
  RunSummary summary() const;

  const SinkConfig& config_;
  const ProgressOutput& progress_;
  zmq::context_t context_;
  ServerSecurity security_;
  zmq::socket_t results_{context_, zmq::socket_type::pull};
  zmq::socket_t status_{context_, zmq::socket_type::pub};

  std::unique_ptr<RunPlan> plan_;
  std::unique_ptr<MapAssembler> map_;
  std::unique_ptr<Journal> journal_;
  bool replaying_ = false;
  protocol::DispatchStats dispatch_stats_;
  std::map<std::string, int> worker_threads_;
  std::int64_t duplicates_ = 0;
  std::int64_t rejected_ = 0;
  int rejection_logs_ = 0;
  std::optional<Clock::time_point> first_result_;
  std::optional<Clock::time_point> completed_at_;
  double wall_time_s_ = 0.0;
};

void Sink::bind_sockets() {
  for (zmq::socket_t* socket : {&results_, &status_}) {
    transport::apply_common_options(*socket, protocol::kMaxMessageBytes);
    security_.configure_server(*socket);
  }
  results_.bind(config_.results_endpoint);
  status_.bind(config_.status_endpoint);

  const std::string results = transport::last_endpoint(results_);
  const std::string status = transport::last_endpoint(status_);
  spdlog::info("sink listening: results on {}, status on {}", results, status);
  if (!config_.endpoint_file.empty()) {
    transport::write_endpoint_file(config_.endpoint_file, {{"results", results}, {"status", status}});
  }
}

void Sink::reject(const std::string& peer, const std::string& reason) {
  ++rejected_;
  if (rejection_logs_ < kMaxRejectionLogsPerInterval) {
    spdlog::warn("dropped a message from {}: {}", peer.empty() ? "an unnamed peer" : peer, reason);
  } else if (rejection_logs_ == kMaxRejectionLogsPerInterval) {
    spdlog::warn("more messages dropped; further warnings suppressed for this second");
  }
  ++rejection_logs_;
}

void Sink::handle_run(const protocol::Run& run, const std::string& bytes) {
  if (plan_) {
    if (run.run_id != plan_->run_id()) {
      reject("ventilator", "announces run " + run.run_id + " while this sink serves run " +
                               plan_->run_id() + " (journal " + journal_path() +
                               "); give the new run another --output folder");
    }
    return;  // a repeated announcement of the current run
  }
  try {
    plan_ = std::make_unique<RunPlan>(RunPlan::from_message(run));
  } catch (const std::exception& error) {
    reject("ventilator", std::string("invalid run announcement: ") + error.what());
    return;
  }
  map_ = std::make_unique<MapAssembler>(*plan_);
  if (!replaying_) {
    journal_ = std::make_unique<Journal>(journal_path());
    record(bytes);
  }
  spdlog::info("run {}: {} points ({} x {}) in {} chunks of {}, model {}", plan_->run_id(),
               plan_->total_points(), plan_->model().scan[0].points,
               plan_->model().scan[1].points, plan_->chunk_count(), plan_->chunk_size(),
               plan_->model().source_name);
  publish_status();
}

// Appends an accepted message to the journal; it reaches the disk at the
// next once-a-second flush.
void Sink::record(const std::string& bytes) {
  if (replaying_ || !journal_) return;
  try {
    journal_->append(bytes);
  } catch (const std::exception& error) {
    spdlog::error("{}; a restarted sink would redo these points", error.what());
  }
}

// Fails early when the map could not be written at the end of the run.
void Sink::check_output_folder() const {
  const std::string probe = config_.output_dir + "/.mkmap-write-check";
  try {
    std::filesystem::create_directories(config_.output_dir);
    write_file_atomically(probe, "");
  } catch (const std::exception& error) {
    throw std::runtime_error("the output folder " + config_.output_dir +
                             " is not writable (" + error.what() +
                             "); choose another --output or fix its permissions");
  }
  std::error_code ignored;
  std::filesystem::remove(probe, ignored);
}

// Replays the journal that a sink killed in the middle of this run left in
// the output folder, so the run carries on where it stopped.
void Sink::resume_from_journal() {
  const std::optional<JournalContents> contents = Journal::read(journal_path());
  if (!contents || contents->records.empty()) return;

  replaying_ = true;
  for (const std::string& bytes : contents->records) handle_bytes(bytes, kVentilatorUserId);
  replaying_ = false;
  if (!plan_) {
    throw std::runtime_error("the journal " + journal_path() +
                             " holds no valid run; move it away to start a new run here");
  }
  journal_ = std::make_unique<Journal>(journal_path());
  spdlog::info("run {}: resumed from {}: {} of {} points done{}", plan_->run_id(),
               journal_path(), map_->done_points(), plan_->total_points(),
               contents->truncated_tail ? " (a record cut short by a crash was dropped)" : "");
}

void Sink::handle_result(const protocol::Result& result, const std::string& worker,
                         const std::string& bytes) {
  if (!plan_) {
    reject(worker, "result of run " + result.run_id + " before any run announcement");
    return;
  }
  if (auto invalid = map_->validate(result)) {
    reject(worker, *invalid);
    return;
  }
  if (!replaying_) worker_threads_[worker.empty() ? "anonymous" : worker] = result.worker_threads;
  if (!first_result_) first_result_ = Clock::now();

  if (!map_->accept(result)) {
    ++duplicates_;
    spdlog::info("run {}: duplicate of chunk {} (attempt {}) from {} ignored", result.run_id,
                 result.chunk_id, result.attempt, worker);
    return;
  }
  record(bytes);
  for (const PointResult& point : result.points) {
    if (point.status != PointStatus::converged) {
      spdlog::warn("run {}: point {} of chunk {} failed: {}", result.run_id, point.index,
                   result.chunk_id, point.reason);
    }
  }
}

// With CURVE the ventilator is the client that uses the server key pair;
// without it any peer is taken at its word.
bool Sink::from_ventilator(const std::string& peer) const {
  return !security_.curve() || peer == kVentilatorUserId;
}

void Sink::handle_give_up(const protocol::GiveUp& give_up, const std::string& bytes) {
  if (!plan_ || give_up.run_id != plan_->run_id()) {
    reject("ventilator", "gives up chunk " + std::to_string(give_up.chunk_id) + " of run " +
                             give_up.run_id + ", which this sink does not serve");
    return;
  }
  const std::string reason = "given up after " + std::to_string(give_up.attempts) +
                             " attempts: " + give_up.reason;
  if (map_->give_up(give_up.chunk_id, reason)) {
    record(bytes);
    spdlog::warn("run {}: chunk {} given up by the ventilator after {} attempts: {}",
                 give_up.run_id, give_up.chunk_id, give_up.attempts, give_up.reason);
  }
}

void Sink::handle_message(zmq::message_t& msg) {
  handle_bytes(std::string(static_cast<const char*>(msg.data()), msg.size()), peer_user_id(msg));
}

void Sink::handle_bytes(const std::string& bytes, const std::string& peer) {
  try {
    switch (protocol::peek_type(bytes.data(), bytes.size())) {
      case protocol::MessageType::run:
        if (!from_ventilator(peer)) return reject(peer, "only the ventilator announces runs");
        handle_run(protocol::decode_run(bytes.data(), bytes.size()), bytes);
        break;
      case protocol::MessageType::give_up:
        if (!from_ventilator(peer)) return reject(peer, "only the ventilator gives up chunks");
        handle_give_up(protocol::decode_give_up(bytes.data(), bytes.size()), bytes);
        break;
      case protocol::MessageType::dispatch_stats:
        if (!from_ventilator(peer)) return reject(peer, "only the ventilator sends dispatch counts");
        dispatch_stats_ = protocol::decode_dispatch_stats(bytes.data(), bytes.size());
        break;
      case protocol::MessageType::result:
        handle_result(protocol::decode_result(bytes.data(), bytes.size()), peer, bytes);
        break;
      default:
        reject(peer, "unexpected message type on the results socket");
    }
  } catch (const protocol::ProtocolError& error) {
    reject(peer, error.what());
  }
}

void Sink::publish_status() {
  if (!plan_) return;
  protocol::Status status;
  status.run_id = plan_->run_id();
  status.done_points = map_->done_points();
  status.total_points = plan_->total_points();
  status.complete = completed_at_.has_value();
  status.done_chunks = map_->done_chunk_ranges();
  const std::string bytes = protocol::encode(status);
  status_.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
}

void Sink::report_progress() {
  rejection_logs_ = 0;
  if (journal_) {
    try {
      journal_->flush();
    } catch (const std::exception& error) {
      spdlog::error("{}; a restarted sink would redo the points since the last flush",
                    error.what());
    }
  }
  if (!plan_) {
    progress_("waiting for a run announcement from the ventilator");
    return;
  }
  const double done = static_cast<double>(map_->done_points());
  const double total = static_cast<double>(plan_->total_points());
  const double elapsed =
      first_result_ ? std::chrono::duration<double>(Clock::now() - *first_result_).count() : 0.0;
  const double rate = elapsed > 0.0 ? done / elapsed : 0.0;
  const double eta = rate > 0.0 ? (total - done) / rate : NAN;
  int threads = 0;
  for (const auto& [worker, count] : worker_threads_) threads += count;

  char line[640];
  std::snprintf(line, sizeof line,
                "run %s: %lld/%lld points (%.1f%%), %.1f points/s, ETA %s, workers %zu "
                "(%d threads), in flight %lld chunks, re-dispatched %lld, backups %lld, "
                "given up %lld, failed points %lld, duplicates %lld, rejected %lld",
                plan_->run_id().c_str(), static_cast<long long>(done),
                static_cast<long long>(total), 100.0 * done / total, rate,
                format_duration(eta).c_str(), worker_threads_.size(), threads,
                static_cast<long long>(dispatch_stats_.in_flight),
                static_cast<long long>(dispatch_stats_.redispatched),
                static_cast<long long>(dispatch_stats_.backups),
                static_cast<long long>(dispatch_stats_.given_up),
                static_cast<long long>(map_->done_points() - map_->converged_points()),
                static_cast<long long>(duplicates_), static_cast<long long>(rejected_));
  progress_(line);
}

RunSummary Sink::summary() const {
  RunSummary summary;
  summary.wall_time_s = wall_time_s_;
  summary.workers_seen = static_cast<std::int64_t>(worker_threads_.size());
  summary.duplicate_chunks = duplicates_;
  summary.rejected_messages = rejected_;
  return summary;
}

// Keeps the points received so far when the run is interrupted; rows of
// points never received have status "missing".
void Sink::write_partial_map() {
  if (!map_ || map_->done_points() == 0) return;
  try {
    map_->write(config_.output_dir, summary(), "map.partial");
    spdlog::warn("run {}: wrote the {} points received so far to {}/map.partial.csv",
                 plan_->run_id(), map_->done_points(), config_.output_dir);
  } catch (const std::exception& error) {
    spdlog::error("run {}: cannot write the partial map: {}", plan_->run_id(), error.what());
  }
}

// Writes the map files; false when they could not be written.
bool Sink::finish() {
  const auto now = Clock::now();
  wall_time_s_ =
      first_result_ ? std::chrono::duration<double>(now - *first_result_).count() : 0.0;

  try {
    std::filesystem::create_directories(config_.output_dir);
    map_->write(config_.output_dir, summary(), "map");
  } catch (const std::exception& error) {
    spdlog::error("run {}: cannot write the map into {}: {}; make the folder writable, the "
                  "sink tries again every {} s and keeps the results meanwhile",
                  plan_->run_id(), config_.output_dir, error.what(),
                  kWriteRetryInterval.count() / 1000);
    return false;
  }
  completed_at_ = now;
  report_progress();
  // The map files now hold everything the journal did.
  journal_.reset();
  std::error_code ignored;
  std::filesystem::remove(journal_path(), ignored);

  progress_("run " + plan_->run_id() + " complete: " + std::to_string(map_->converged_points()) +
            " of " + std::to_string(plan_->total_points()) + " points converged in " +
            format_duration(wall_time_s_) + "; wrote " + config_.output_dir + "/map.csv and " +
            config_.output_dir + "/map.json");
  return true;
}

int Sink::run() {
  check_output_folder();
  resume_from_journal();
  bind_sockets();
  const int exit_code = serve();

  // Status messages still queued are moot after the final announcement.
  // Dropping them at close also avoids a libzmq 4.3.4 abort (msg.cpp:414)
  // seen here when a CURVE socket closed with messages queued to a peer.
  results_.set(zmq::sockopt::linger, 0);
  status_.set(zmq::sockopt::linger, 0);
  return exit_code;
}

int Sink::serve() {
  auto next_progress = Clock::now();
  auto next_status = Clock::now();
  auto next_write = Clock::now();
  std::optional<Clock::time_point> announce_until;

  while (!stop_requested()) {
    std::vector<zmq::pollitem_t> items = {{results_.handle(), 0, ZMQ_POLLIN, 0}};
    poll_until_signal(items, kPollTimeout);
    zmq::message_t msg;
    while (results_.recv(msg, zmq::recv_flags::dontwait)) handle_message(msg);

    const auto now = Clock::now();
    if (map_ && map_->complete() && !completed_at_ && now >= next_write) {
      if (finish()) {
        announce_until = now + config_.announce_time;
      } else {
        next_write = now + kWriteRetryInterval;
      }
    }
    if (now >= next_progress && !completed_at_) {
      report_progress();
      next_progress = now + kProgressInterval;
    }
    if (now >= next_status) {
      publish_status();
      next_status = now + (completed_at_ ? kAnnounceInterval : kStatusInterval);
    }
    if (announce_until && now >= *announce_until) {
      spdlog::info("run {}: completion announced, sink exits", plan_->run_id());
      return 0;
    }
  }
  if (completed_at_) return 0;
  spdlog::warn("sink stopped by signal {} before the run completed; start it again with "
               "--output {} to carry on with the run", stop_signal(), config_.output_dir);
  if (journal_) journal_->flush();
  write_partial_map();
  return 130;
}

}  // namespace

int run_sink(const SinkConfig& config, const ProgressOutput& progress) {
  Sink sink(config, progress);
  return sink.run();
}

}  // namespace mkmap
