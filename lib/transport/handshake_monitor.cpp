#include "transport/handshake_monitor.hpp"

#include <atomic>
#include <cstring>

#include "transport/errors.hpp"

namespace mkmap::transport {
namespace {

/// The events a HandshakeMonitor subscribes to; all map to a
/// HandshakeEventKind.
constexpr int kMonitoredEvents =
    ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED |
    ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
    ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;

/// Size of the first frame of a monitor event in libzmq 4.3: a 16-bit event
/// number followed by a 32-bit value, in host byte order [bytes].
constexpr std::size_t kEventFrameSize = 6;

std::string make_monitor_endpoint() {
  static std::atomic<std::uint64_t> next_id{0};
  return "inproc://mkmap-handshake-monitor-" + std::to_string(next_id++);
}

std::optional<HandshakeEventKind> kind_of(std::uint16_t event) {
  switch (event) {
    case ZMQ_EVENT_CONNECTED:
      return HandshakeEventKind::connected;
    case ZMQ_EVENT_DISCONNECTED:
      return HandshakeEventKind::disconnected;
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
      return HandshakeEventKind::succeeded;
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
      return HandshakeEventKind::failed_auth;
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
      return HandshakeEventKind::failed_protocol;
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
      return HandshakeEventKind::failed_no_detail;
    default:
      return std::nullopt;
  }
}

}  // namespace

std::string_view to_string(HandshakeEventKind kind) {
  switch (kind) {
    case HandshakeEventKind::connected:
      return "connected";
    case HandshakeEventKind::disconnected:
      return "disconnected";
    case HandshakeEventKind::succeeded:
      return "succeeded";
    case HandshakeEventKind::failed_auth:
      return "failed_auth";
    case HandshakeEventKind::failed_protocol:
      return "failed_protocol";
    case HandshakeEventKind::failed_no_detail:
      return "failed_no_detail";
  }
  return "unknown";
}

HandshakeMonitor::HandshakeMonitor(zmq::context_t& context, zmq::socket_t& socket)
    : monitored_(socket), event_socket_(context, zmq::socket_type::pair) {
  const std::string endpoint = make_monitor_endpoint();
  if (zmq_socket_monitor(monitored_.handle(), endpoint.c_str(),
                         kMonitoredEvents) != 0) {
    throw zmq::error_t();
  }
  event_socket_.set(zmq::sockopt::linger, 0);
  event_socket_.connect(endpoint);
}

HandshakeMonitor::~HandshakeMonitor() noexcept {
  if (monitored_.handle() != nullptr) {
    // Failure here means the socket or context is already going away, and
    // then libzmq stops the monitor itself.
    (void)zmq_socket_monitor(monitored_.handle(), nullptr, 0);
  }
}

zmq::pollitem_t HandshakeMonitor::poll_item() {
  return {event_socket_.handle(), 0, ZMQ_POLLIN, 0};
}

std::optional<HandshakeEvent> HandshakeMonitor::read_event(
    std::chrono::milliseconds timeout) {
  if (timeout.count() > 0) {
    zmq::pollitem_t items[] = {poll_item()};
    zmq::poll(items, 1, timeout);
  }

  zmq::message_t header;
  if (!event_socket_.recv(header, zmq::recv_flags::dontwait)) {
    return std::nullopt;
  }
  zmq::message_t endpoint;
  if (header.size() != kEventFrameSize || !header.more() ||
      !event_socket_.recv(endpoint, zmq::recv_flags::dontwait)) {
    throw TransportError("malformed socket monitor message: expected a " +
                         std::to_string(kEventFrameSize) +
                         "-byte event frame followed by an endpoint frame");
  }

  std::uint16_t event = 0;
  std::uint32_t value = 0;
  std::memcpy(&event, header.data(), sizeof event);
  std::memcpy(&value, static_cast<const char*>(header.data()) + sizeof event,
              sizeof value);

  const auto kind = kind_of(event);
  if (!kind) {
    return std::nullopt;
  }
  return HandshakeEvent{*kind, value, endpoint.to_string()};
}

}  // namespace mkmap::transport
