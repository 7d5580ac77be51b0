#include "pipeline/ventilator_server.hpp"

#include <spdlog/spdlog.h>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "kinetics/steady_state.hpp"
#include "pipeline/signals.hpp"
#include "protocol/messages.hpp"
#include "protocol/run_plan.hpp"
#include "transport/endpoint_file.hpp"
#include "transport/socket_options.hpp"

namespace mkmap {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kPollTimeout{100};
// The run announcement is repeated until the sink's status shows the run.
constexpr std::chrono::milliseconds kAnnounceInterval{1000};
constexpr std::chrono::milliseconds kSummaryInterval{10000};
// The sink's progress line shows the ventilator's counts at this pace.
constexpr std::chrono::milliseconds kStatsInterval{1000};
// At most this many dropped-message warnings per summary interval.
constexpr int kMaxDropLogsPerInterval = 5;

// Logs the coverages the solver keeps at their initial values.
void log_held_coverages(const Model& model) {
  std::string held;
  const int adsorbates = static_cast<int>(model.adsorbates.size());
  for (int unknown : held_unknowns(model)) {
    held += held.empty() ? "" : ", ";
    held += unknown < adsorbates ? model.adsorbates[unknown].name + "_" +
                                       model.sites[model.adsorbates[unknown].site].name
                                 : "*_" + model.sites[unknown - adsorbates].name;
  }
  if (!held.empty()) {
    spdlog::info("coverages held at their initial values at every point, because no step "
                 "changes them or a conservation law keeps them at zero: {} (map.json lists "
                 "them as held_coverages)",
                 held);
  }
}

class Ventilator {
 public:
  Ventilator(const VentilatorConfig& config, const Model& model)
      : config_(config),
        plan_(derive_run_id(model, config.chunk_size), model, config.chunk_size),
        ledger_(plan_.chunk_count(), config.ledger),
        security_(context_, config.security) {}

  int run();

 private:
  void open_sockets();
  void read_status();
  void read_workers();
  void dispatch();
  void handle_events(const std::vector<LedgerEvent>& events);
  void drop(const std::string& peer, const std::string& reason);
  void log_summary();
  void tell_workers_complete();
  void send_stats();
  void send_changed_stats();

  const VentilatorConfig& config_;
  zmq::context_t context_;
  RunPlan plan_;
  ChunkLedger ledger_;
  ServerSecurity security_;
  zmq::socket_t tasks_{context_, zmq::socket_type::router};
  zmq::socket_t sink_{context_, zmq::socket_type::push};
  zmq::socket_t status_{context_, zmq::socket_type::sub};

  bool acknowledged_ = false;
  bool complete_ = false;
  int drop_logs_ = 0;
  std::int64_t dropped_ = 0;
  /// Re-dispatches, backups and give-ups in the last counts sent to the sink.
  std::int64_t stats_changes_sent_ = 0;
};

void Ventilator::open_sockets() {
  transport::apply_common_options(tasks_, protocol::kMaxMessageBytes);
  // A send to a worker that is gone fails instead of vanishing silently.
  tasks_.set(zmq::sockopt::router_mandatory, true);
  security_.configure_server(tasks_);
  tasks_.bind(config_.tasks_endpoint);
  const std::string tasks = transport::last_endpoint(tasks_);
  if (!config_.endpoint_file.empty()) {
    transport::write_endpoint_file(config_.endpoint_file, {{"tasks", tasks}});
  }

  for (zmq::socket_t* socket : {&sink_, &status_}) {
    transport::apply_common_options(*socket, protocol::kMaxMessageBytes);
    security_.configure_peer_client(*socket);
  }
  status_.set(zmq::sockopt::subscribe, "");
  sink_.connect(config_.sink_endpoint);
  status_.connect(config_.status_endpoint);
  spdlog::info("run {}: {} points in {} chunks of {}; tasks on {}, sink at {}", plan_.run_id(),
               plan_.total_points(), plan_.chunk_count(), plan_.chunk_size(), tasks,
               config_.sink_endpoint);
  log_held_coverages(plan_.model());
}

void Ventilator::drop(const std::string& peer, const std::string& reason) {
  ++dropped_;
  if (drop_logs_++ < kMaxDropLogsPerInterval) {
    spdlog::warn("dropped a message from {}: {}", peer.empty() ? "an unnamed peer" : peer, reason);
  }
}

void Ventilator::read_status() {
  zmq::message_t msg;
  while (status_.recv(msg, zmq::recv_flags::dontwait)) {
    protocol::Status status;
    try {
      status = protocol::decode_status(msg.data(), msg.size());
    } catch (const protocol::ProtocolError& error) {
      drop("the sink", error.what());
      continue;
    }
    if (status.run_id != plan_.run_id()) {
      drop("the sink", "status of run " + status.run_id + ", not this run " + plan_.run_id() +
                           "; start a new sink for each run");
      continue;
    }
    if (!acknowledged_) {
      spdlog::info("run {}: the sink acknowledged the run; waiting for workers", plan_.run_id());
    }
    acknowledged_ = true;
    ledger_.mark_done(status.done_chunks);
    complete_ = complete_ || status.complete;
  }
}

void Ventilator::read_workers() {
  const auto now = Clock::now();
  while (true) {
    std::vector<zmq::message_t> frames;
    if (!zmq::recv_multipart(tasks_, std::back_inserter(frames), zmq::recv_flags::dontwait)) {
      return;
    }
    const std::string peer = frames.size() == 2 ? peer_user_id(frames[1]) : std::string();
    if (frames.size() != 2) {
      drop(peer, "a message of " + std::to_string(frames.size()) + " frames, expected 1");
      continue;
    }
    try {
      const protocol::Ready ready = protocol::decode_ready(frames[1].data(), frames[1].size());
      ledger_.update_worker(frames[0].to_string(), peer.empty() ? "anonymous" : peer, ready, now);
    } catch (const protocol::ProtocolError& error) {
      drop(peer, error.what());
    }
  }
}

void Ventilator::dispatch() {
  const auto now = Clock::now();
  while (auto next = ledger_.next_dispatch(now)) {
    const std::string bytes = protocol::encode(plan_.make_task(next->chunk, next->attempt));
    try {
      tasks_.send(zmq::buffer(next->worker), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
      tasks_.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
    } catch (const zmq::error_t& error) {
      spdlog::warn("run {}: cannot reach worker {} ({}); its chunks go to other workers",
                   plan_.run_id(), next->worker_name, error.what());
      ledger_.drop_worker(next->worker);
      continue;
    }
    if (next->attempt > 1) {
      spdlog::info("run {}: chunk {} attempt {} sent to worker {}{}", plan_.run_id(), next->chunk,
                   next->attempt, next->worker_name, next->backup ? " as a backup" : "");
    }
  }
}

void Ventilator::handle_events(const std::vector<LedgerEvent>& events) {
  for (const LedgerEvent& event : events) {
    switch (event.kind) {
      case LedgerEvent::Kind::worker_joined:
        spdlog::info("run {}: worker {} joined ({})", plan_.run_id(), event.worker_name,
                     event.reason);
        break;
      case LedgerEvent::Kind::worker_lost:
        if (event.chunk < 0) {
          spdlog::warn("run {}: worker {} went silent ({}); its chunks go to other workers",
                       plan_.run_id(), event.worker_name, event.reason);
        }
        break;
      case LedgerEvent::Kind::lease_expired:
        spdlog::warn("run {}: lease of chunk {} attempt {} on worker {} expired", plan_.run_id(),
                     event.chunk, event.attempt, event.worker_name);
        break;
      case LedgerEvent::Kind::given_up: {
        spdlog::error("run {}: chunk {} given up after {} attempts; last failure: {}",
                      plan_.run_id(), event.chunk, event.attempt, event.reason);
        protocol::GiveUp give_up{plan_.run_id(), event.chunk, event.attempt, event.reason};
        const std::string bytes = protocol::encode(give_up);
        sink_.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
        break;
      }
    }
  }
}

// Passes the sink's completion on to every worker directly, so that a
// worker that missed the sink's status broadcast still stops.
void Ventilator::tell_workers_complete() {
  protocol::Status status;
  status.run_id = plan_.run_id();
  status.done_points = plan_.total_points();
  status.total_points = plan_.total_points();
  status.complete = true;
  const std::string bytes = protocol::encode(status);
  for (const std::string& worker : ledger_.worker_ids()) {
    try {
      tasks_.send(zmq::buffer(worker), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
      tasks_.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
    } catch (const zmq::error_t&) {
      // A worker that is gone needs no notice.
    }
  }
}

void Ventilator::send_stats() {
  const protocol::DispatchStats stats{plan_.run_id(), ledger_.in_flight(), ledger_.redispatched(),
                                      ledger_.backups(), ledger_.given_up()};
  const std::string bytes = protocol::encode(stats);
  sink_.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
  stats_changes_sent_ = ledger_.redispatched() + ledger_.backups() + ledger_.given_up();
}

// Sends the counts at once after a re-dispatch, a backup or a give-up. A
// chunk sent again near the end of a run may complete it within a second,
// and the sink's last progress line must still show that chunk.
void Ventilator::send_changed_stats() {
  const std::int64_t changes = ledger_.redispatched() + ledger_.backups() + ledger_.given_up();
  if (changes != stats_changes_sent_) send_stats();
}

void Ventilator::log_summary() {
  drop_logs_ = 0;
  spdlog::info("run {}: {} of {} chunks done, {} in flight, {} waiting, {} workers, "
               "{} chunks sent, {} re-dispatched, {} backups, {} given up, {} messages dropped",
               plan_.run_id(), ledger_.done(), plan_.chunk_count(), ledger_.in_flight(),
               ledger_.waiting(), ledger_.workers(), ledger_.dispatched(), ledger_.redispatched(),
               ledger_.backups(), ledger_.given_up(), dropped_);
}

int Ventilator::run() {
  open_sockets();
  const std::string announcement = protocol::encode(plan_.to_message());
  const auto started = Clock::now();
  auto next_announce = started;
  auto next_summary = started + kSummaryInterval;
  auto next_stats = started;

  while (!stop_requested() && !complete_) {
    const auto now = Clock::now();
    if (!acknowledged_ && now >= next_announce) {
      sink_.send(zmq::buffer(announcement), zmq::send_flags::dontwait);
      next_announce = now + kAnnounceInterval;
      if (now - started > config_.sink_timeout) {
        spdlog::error("run {}: no response from the sink at {} (status {}) within {} s; check "
                      "that the sink runs and that both use the same server key",
                      plan_.run_id(), config_.sink_endpoint, config_.status_endpoint,
                      config_.sink_timeout.count() / 1000);
        return 1;
      }
    }
    if (acknowledged_ && now >= next_stats) {
      send_stats();
      next_stats = now + kStatsInterval;
    }
    if (now >= next_summary) {
      log_summary();
      next_summary = now + kSummaryInterval;
    }

    std::vector<zmq::pollitem_t> items = {{status_.handle(), 0, ZMQ_POLLIN, 0},
                                          {tasks_.handle(), 0, ZMQ_POLLIN, 0}};
    poll_until_signal(items, kPollTimeout);
    read_status();
    read_workers();
    if (acknowledged_) {
      handle_events(ledger_.expire(Clock::now()));
      dispatch();
      send_changed_stats();
    }
  }

  if (complete_) tell_workers_complete();

  // Messages still queued are moot once the run is complete or abandoned.
  // Dropping them at close also avoids a libzmq 4.3.4 abort (msg.cpp:414)
  // seen here when a CURVE socket closed with messages queued to a peer.
  for (zmq::socket_t* socket : {&tasks_, &sink_, &status_}) {
    socket->set(zmq::sockopt::linger, 0);
  }
  if (complete_) {
    log_summary();
    spdlog::info("run {}: the sink reports the run complete; ventilator exits", plan_.run_id());
    return 0;
  }
  spdlog::warn("ventilator stopped by signal {} before run {} completed", stop_signal(),
               plan_.run_id());
  return 130;
}

}  // namespace

int run_ventilator(const VentilatorConfig& config, const Model& model) {
  Ventilator ventilator(config, model);
  return ventilator.run();
}

}  // namespace mkmap
