#include "pipeline/worker_client.hpp"

#include <deque>
#include <map>
#include <set>
#include <memory>
#include <optional>
#include <spdlog/spdlog.h>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "pipeline/signals.hpp"
#include "pipeline/solver_pool.hpp"
#include "protocol/messages.hpp"
#include "transport/handshake_monitor.hpp"
#include "transport/key_file.hpp"
#include "transport/socket_options.hpp"

namespace mkmap {
namespace {

constexpr std::chrono::milliseconds kPollTimeout{200};
constexpr const char* kSolverResultsEndpoint = "inproc://mkmap-solver-results";
// Outgoing results held while the sink is unreachable; beyond this the
// worker stops taking chunks.
constexpr std::size_t kMaxPendingResults = 64;
// A worker sends its free slots at least this often; the ventilator takes a
// worker silent for several intervals as gone.
constexpr std::chrono::milliseconds kReadyInterval{1000};
// A result the sink's status does not list as done after this long is sent
// again: a sink that died and restarted lost it.
constexpr std::chrono::seconds kResultAckTimeout{10};
// Results kept for re-sending; beyond this the oldest are forgotten and
// the ventilator's lease recovers their chunks.
constexpr std::size_t kMaxUnackedResults = 256;
// An idle worker logs that it waits at this interval, so that a wrong
// endpoint shows.
constexpr std::chrono::seconds kIdleLogInterval{30};

class Worker {
 public:
  explicit Worker(const WorkerConfig& config) : config_(config) {}

  int run();

 private:
  void log_if_idle();
  void open_sockets();
  std::optional<int> check_handshakes();
  void receive_task();
  void send_ready();
  void receive_status();
  void handle_status(const protocol::Status& status);
  void forward_results();
  void resend_unacknowledged();

  const WorkerConfig& config_;
  zmq::context_t context_;
  zmq::socket_t tasks_{context_, zmq::socket_type::dealer};
  zmq::socket_t results_{context_, zmq::socket_type::push};
  zmq::socket_t status_{context_, zmq::socket_type::sub};
  zmq::socket_t solver_results_{context_, zmq::socket_type::pull};
  std::vector<std::unique_ptr<transport::HandshakeMonitor>> monitors_;
  std::vector<std::string> monitored_endpoints_;
  std::unique_ptr<SolverPool> pool_;

  std::string fingerprint_ = "none";
  int threads_ = 1;
  int outstanding_ = 0;  ///< chunks taken whose results are not yet sent
  int handshake_failures_ = 0;
  std::deque<std::string> pending_results_;
  std::string run_id_;
  std::set<std::string> finished_runs_;
  bool complete_ = false;
  long long chunks_done_ = 0;
  std::int64_t tasks_received_ = 0;
  struct SentResult {
    std::string bytes;
    std::chrono::steady_clock::time_point sent;
  };
  /// Results sent but not yet listed as done by the sink, by chunk id.
  std::map<std::int64_t, SentResult> unacknowledged_;
  std::chrono::steady_clock::time_point next_ready_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_activity_ = std::chrono::steady_clock::now();
  /// Last message from the ventilator or the sink.
  std::chrono::steady_clock::time_point last_heard_ = std::chrono::steady_clock::now();
  bool idle_timed_out_ = false;
};

void Worker::log_if_idle() {
  const auto now = std::chrono::steady_clock::now();
  if (!config_.persistent && config_.idle_timeout.count() > 0 && outstanding_ == 0 &&
      now - last_heard_ >= config_.idle_timeout) {
    spdlog::info("nothing heard from the ventilator ({}) or the sink ({}) for {} s; the run is "
                 "over or unreachable, so the worker exits",
                 config_.tasks_endpoint, config_.status_endpoint, config_.idle_timeout.count());
    idle_timed_out_ = true;
    return;
  }
  if (outstanding_ > 0 || now - last_activity_ < kIdleLogInterval) return;
  spdlog::info("no task from {} in the last {} s; still waiting (check that the ventilator "
               "runs and that --tasks names its endpoint)",
               config_.tasks_endpoint, kIdleLogInterval.count());
  last_activity_ = now;
}

void Worker::open_sockets() {
  std::optional<transport::KeyPair> key;
  std::string server_key;
  if (config_.curve) {
    key = transport::load_secret_key_file(config_.key_file);
    server_key = transport::load_public_key_file(config_.server_key_file);
    fingerprint_ = transport::fingerprint(key->public_z85);
  } else {
    spdlog::warn("CURVE is off: traffic is plain text; use this only on a trusted machine");
  }

  const std::pair<zmq::socket_t*, const std::string*> sockets[] = {
      {&tasks_, &config_.tasks_endpoint},
      {&results_, &config_.results_endpoint},
      {&status_, &config_.status_endpoint}};
  status_.set(zmq::sockopt::subscribe, "");
  for (const auto& [socket, endpoint] : sockets) {
    transport::apply_common_options(*socket, protocol::kMaxMessageBytes);
    if (key) transport::make_curve_client(*socket, *key, server_key);
    monitors_.push_back(std::make_unique<transport::HandshakeMonitor>(context_, *socket));
    monitored_endpoints_.push_back(*endpoint);
    socket->connect(*endpoint);
  }
  solver_results_.bind(kSolverResultsEndpoint);
}

// Returns an exit code when a handshake failure means the worker must stop.
std::optional<int> Worker::check_handshakes() {
  for (std::size_t i = 0; i < monitors_.size(); ++i) {
    while (auto event = monitors_[i]->read_event()) {
      const std::string& endpoint = monitored_endpoints_[i];
      switch (event->kind) {
        case transport::HandshakeEventKind::succeeded:
          handshake_failures_ = 0;
          break;
        case transport::HandshakeEventKind::failed_auth:
          spdlog::error("the server at {} rejected this worker's key (fingerprint {}, status "
                        "{}): copy the worker's public key file into the server's authorized "
                        "keys folder, then start the worker again",
                        endpoint, fingerprint_, event->value);
          return kWorkerKeyRejected;
        case transport::HandshakeEventKind::failed_protocol:
          // libzmq 4.3.4 does not reconnect after a protocol error, such as a
          // server without CURVE, so no further tries would follow.
          spdlog::error("giving up: the handshake with {} failed with protocol error 0x{:x}, "
                        "which libzmq does not retry; check that the server uses CURVE (no "
                        "--no-curve) and that --server-key is its public key",
                        endpoint, event->value);
          return kWorkerHandshakeFailing;
        case transport::HandshakeEventKind::failed_no_detail:
          ++handshake_failures_;
          spdlog::warn("handshake with {} failed ({}), {} of {} tries; check that --server-key "
                       "is the server's public key and that both sides use CURVE",
                       endpoint, transport::to_string(event->kind), handshake_failures_,
                       config_.max_handshake_failures);
          if (handshake_failures_ >= config_.max_handshake_failures) {
            spdlog::error("giving up: the handshake with {} keeps failing; check that "
                          "--server-key is the server's public key", endpoint);
            return kWorkerHandshakeFailing;
          }
          break;
        default:
          break;
      }
    }
  }
  return std::nullopt;
}

void Worker::receive_task() {
  zmq::message_t msg;
  if (!tasks_.recv(msg, zmq::recv_flags::dontwait)) return;
  last_heard_ = std::chrono::steady_clock::now();
  try {
    // The ventilator also passes on the sink's completion on this socket.
    if (protocol::peek_type(msg.data(), msg.size()) == protocol::MessageType::status) {
      handle_status(protocol::decode_status(msg.data(), msg.size()));
      return;
    }
    ++tasks_received_;
    protocol::Task task = protocol::decode_task(msg.data(), msg.size());
    if (task.points.empty()) throw protocol::ProtocolError("task without points");
    if (run_id_ != task.run_id) {
      run_id_ = task.run_id;
      finished_runs_.erase(run_id_);  // the same map started again
      spdlog::info("working on run {}", run_id_);
    }
    spdlog::debug("run {}: chunk {} (attempt {}) with {} points", task.run_id, task.chunk_id,
                  task.attempt, task.points.size());
    ++outstanding_;
    last_activity_ = std::chrono::steady_clock::now();
    pool_->submit(std::move(task));
  } catch (const protocol::ProtocolError& error) {
    spdlog::warn("dropped a message from {}: {}", config_.tasks_endpoint, error.what());
  }
}

// Offers the ventilator the free slots of this worker; sent at start, after
// each finished chunk and every second as a heartbeat.
void Worker::send_ready() {
  protocol::Ready ready;
  ready.run_id = run_id_;
  // A worker that cannot deliver results to the sink takes no more work.
  const bool blocked = pending_results_.size() >= kMaxPendingResults;
  ready.free_slots = blocked ? 0 : std::max(0, threads_ + config_.prefetch - outstanding_);
  ready.tasks_received = tasks_received_;
  ready.threads = threads_;
  const std::string bytes = protocol::encode(ready);
  tasks_.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
  next_ready_ = std::chrono::steady_clock::now() + kReadyInterval;
}

void Worker::resend_unacknowledged() {
  const auto now = std::chrono::steady_clock::now();
  while (unacknowledged_.size() > kMaxUnackedResults) {
    auto oldest = unacknowledged_.begin();
    for (auto it = unacknowledged_.begin(); it != unacknowledged_.end(); ++it) {
      if (it->second.sent < oldest->second.sent) oldest = it;
    }
    unacknowledged_.erase(oldest);
  }
  for (auto& [chunk, sent] : unacknowledged_) {
    if (now - sent.sent < kResultAckTimeout || pending_results_.size() >= kMaxPendingResults) {
      continue;
    }
    spdlog::info("run {}: sending chunk {} again: the sink has not listed it as done within {} s",
                 run_id_, chunk, kResultAckTimeout.count());
    pending_results_.push_back(sent.bytes);
    sent.sent = now;
  }
}

void Worker::receive_status() {
  zmq::message_t msg;
  while (status_.recv(msg, zmq::recv_flags::dontwait)) {
    last_heard_ = std::chrono::steady_clock::now();
    try {
      handle_status(protocol::decode_status(msg.data(), msg.size()));
    } catch (const protocol::ProtocolError& error) {
      spdlog::warn("dropped a status message from {}: {}", config_.status_endpoint,
                   error.what());
    }
  }
}

void Worker::handle_status(const protocol::Status& status) {
  if (status.run_id == run_id_) {
    for (const protocol::ChunkRange& range : status.done_chunks) {
      unacknowledged_.erase(unacknowledged_.lower_bound(range.begin),
                            unacknowledged_.lower_bound(range.end));
    }
  }
  // A worker that has not yet seen a task belongs to whatever run the sink
  // serves.
  const bool mine = run_id_.empty() || status.run_id == run_id_;
  if (!status.complete || !mine || finished_runs_.count(status.run_id) != 0) return;

  finished_runs_.insert(status.run_id);
  if (!config_.persistent) {
    run_id_ = status.run_id;
    complete_ = true;
    return;
  }
  spdlog::info("run {} complete after {} chunks from this worker; waiting for the next run",
               status.run_id, chunks_done_);
  run_id_.clear();
  unacknowledged_.clear();
}

void Worker::forward_results() {
  zmq::message_t msg;
  while (pending_results_.size() < kMaxPendingResults &&
         solver_results_.recv(msg, zmq::recv_flags::dontwait)) {
    pending_results_.emplace_back(static_cast<const char*>(msg.data()), msg.size());
    --outstanding_;
    ++chunks_done_;
    try {
      const protocol::Result result =
          protocol::decode_result(pending_results_.back().data(), pending_results_.back().size());
      unacknowledged_[result.chunk_id] = {pending_results_.back(),
                                          std::chrono::steady_clock::now()};
    } catch (const protocol::ProtocolError& error) {
      spdlog::error("a solver thread produced an invalid result: {}", error.what());
    }
  }
  while (!pending_results_.empty()) {
    if (!results_.send(zmq::buffer(pending_results_.front()), zmq::send_flags::dontwait)) break;
    pending_results_.pop_front();
  }
}

int Worker::run() {
  open_sockets();
  threads_ = config_.threads > 0 ? config_.threads
                                 : std::max(1u, std::thread::hardware_concurrency());
  pool_ = std::make_unique<SolverPool>(context_, kSolverResultsEndpoint, threads_);
  spdlog::info("worker with {} solver thread(s), key fingerprint {}; tasks from {}, results to {}",
               threads_, fingerprint_, config_.tasks_endpoint, config_.results_endpoint);

  std::optional<int> handshake_exit;
  send_ready();
  while (!stop_requested() && !complete_ && !idle_timed_out_) {
    std::vector<zmq::pollitem_t> items = {{tasks_.handle(), 0, ZMQ_POLLIN, 0},
                                          {solver_results_.handle(), 0, ZMQ_POLLIN, 0},
                                          {status_.handle(), 0, ZMQ_POLLIN, 0}};
    for (auto& monitor : monitors_) items.push_back(monitor->poll_item());
    poll_until_signal(items, kPollTimeout);

    handshake_exit = check_handshakes();
    if (handshake_exit) break;
    receive_task();
    const long long finished_before = chunks_done_;
    forward_results();
    receive_status();
    resend_unacknowledged();
    if (chunks_done_ != finished_before || std::chrono::steady_clock::now() >= next_ready_) {
      send_ready();
    }
    log_if_idle();
  }

  // Results still queued are moot once the run is complete. Dropping them
  // at close also avoids a libzmq 4.3.4 abort (msg.cpp:414) seen here when
  // a CURVE socket closed with messages queued to a peer.
  for (zmq::socket_t* socket : {&tasks_, &results_, &status_}) {
    socket->set(zmq::sockopt::linger, 0);
  }
  if (handshake_exit) return *handshake_exit;
  if (idle_timed_out_) return kWorkerDone;
  if (complete_) {
    spdlog::info("run {} complete after {} chunks from this worker; worker exits", run_id_,
                 chunks_done_);
    return kWorkerDone;
  }
  spdlog::warn("worker stopped by signal {} with {} chunks unfinished", stop_signal(),
               outstanding_);
  return kWorkerStopped;
}

}  // namespace

int run_worker(const WorkerConfig& config) {
  Worker worker(config);
  const int code = worker.run();
  return code;
}

}  // namespace mkmap
