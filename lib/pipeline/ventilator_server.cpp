#include "pipeline/ventilator_server.hpp"

#include <deque>
#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "pipeline/signals.hpp"
#include "protocol/messages.hpp"
#include "protocol/run_plan.hpp"
#include "transport/endpoint_file.hpp"
#include "transport/socket_options.hpp"

namespace mkmap {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kPollTimeout{200};
// The run announcement is repeated until the sink's status shows the run.
constexpr std::chrono::milliseconds kAnnounceInterval{1000};
constexpr std::chrono::milliseconds kWaitingLogInterval{5000};
// Messages queued per worker connection before PUSH holds back.
constexpr int kTaskHighWaterMark = 1000;

class Ventilator {
 public:
  Ventilator(const VentilatorConfig& config, const Model& model)
      : config_(config),
        plan_(protocol::new_run_id(), model, config.chunk_size),
        security_(context_, config.security) {
    for (std::int64_t chunk = 0; chunk < plan_.chunk_count(); ++chunk) unsent_.push_back(chunk);
  }

  int run();

 private:
  void open_sockets();
  void read_status();
  void send_tasks();

  const VentilatorConfig& config_;
  zmq::context_t context_;
  RunPlan plan_;
  ServerSecurity security_;
  zmq::socket_t tasks_{context_, zmq::socket_type::push};
  zmq::socket_t sink_{context_, zmq::socket_type::push};
  zmq::socket_t status_{context_, zmq::socket_type::sub};

  std::deque<std::int64_t> unsent_;
  bool acknowledged_ = false;
  bool complete_ = false;
  std::int64_t done_points_ = 0;
};

void Ventilator::open_sockets() {
  transport::apply_common_options(tasks_, protocol::kMaxMessageBytes);
  tasks_.set(zmq::sockopt::sndhwm, kTaskHighWaterMark);
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
}

void Ventilator::read_status() {
  zmq::message_t msg;
  while (status_.recv(msg, zmq::recv_flags::dontwait)) {
    protocol::Status status;
    try {
      status = protocol::decode_status(msg.data(), msg.size());
    } catch (const protocol::ProtocolError& error) {
      spdlog::warn("dropped a status message from the sink: {}", error.what());
      continue;
    }
    if (status.run_id != plan_.run_id()) {
      spdlog::warn("the sink at {} serves run {}, not this run {}; start a new sink",
                   config_.sink_endpoint, status.run_id, plan_.run_id());
      continue;
    }
    if (!acknowledged_) {
      spdlog::info("run {}: the sink acknowledged the run; sending tasks", plan_.run_id());
    }
    acknowledged_ = true;
    done_points_ = status.done_points;
    complete_ = complete_ || status.complete;
  }
}

void Ventilator::send_tasks() {
  while (!unsent_.empty()) {
    const std::string bytes = protocol::encode(plan_.make_task(unsent_.front(), 1));
    if (!tasks_.send(zmq::buffer(bytes), zmq::send_flags::dontwait)) return;
    unsent_.pop_front();
  }
  spdlog::info("run {}: all {} chunks handed out", plan_.run_id(), plan_.chunk_count());
}

int Ventilator::run() {
  open_sockets();
  const std::string announcement = protocol::encode(plan_.to_message());
  const auto started = Clock::now();
  auto next_announce = started;
  auto next_waiting_log = started + kWaitingLogInterval;

  while (!stop_requested() && !complete_) {
    const auto now = Clock::now();
    if (!acknowledged_ && now >= next_announce) {
      sink_.send(zmq::buffer(announcement), zmq::send_flags::dontwait);
      next_announce = now + kAnnounceInterval;
      if (now - started > config_.sink_timeout) {
        spdlog::error("run {}: no answer from the sink at {} (status {}) within {} s; check "
                      "that the sink runs and that both use the same server key",
                      plan_.run_id(), config_.sink_endpoint, config_.status_endpoint,
                      config_.sink_timeout.count() / 1000);
        return 1;
      }
    }
    if (acknowledged_ && !unsent_.empty() && now >= next_waiting_log) {
      spdlog::info("run {}: {} chunks wait for a worker to connect to {}", plan_.run_id(),
                   unsent_.size(), transport::last_endpoint(tasks_));
      next_waiting_log = now + kWaitingLogInterval;
    }

    const bool want_send = acknowledged_ && !unsent_.empty();
    std::vector<zmq::pollitem_t> items = {
        {status_.handle(), 0, ZMQ_POLLIN, 0},
        {tasks_.handle(), 0, static_cast<short>(want_send ? ZMQ_POLLOUT : 0), 0}};
    poll_until_signal(items, kPollTimeout);
    read_status();
    if (acknowledged_ && !unsent_.empty() && (items[1].revents & ZMQ_POLLOUT)) send_tasks();
  }

  // Messages still queued are moot once the run is complete or abandoned.
  // Dropping them at close also avoids a libzmq 4.3.4 abort (msg.cpp:414)
  // seen here when a CURVE socket closed with messages queued to a peer.
  for (zmq::socket_t* socket : {&tasks_, &sink_, &status_}) {
    socket->set(zmq::sockopt::linger, 0);
  }
  if (complete_) {
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
