#pragma once
// Connection and handshake events of a client socket, read from the libzmq
// socket monitor.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <zmq.hpp>

namespace mkmap::transport {

enum class HandshakeEventKind {
  /// TCP connection established; the handshake starts.
  connected,
  /// Connection closed, by either side or by a heartbeat timeout.
  disconnected,
  /// Handshake completed: the server accepted this client.
  succeeded,
  /// The server's ZAP handler rejected this client's key.
  failed_auth,
  /// The peer broke the ZMTP or CURVE protocol.
  failed_protocol,
  /// The handshake failed without detail. With libzmq 4.3.4 a client gets
  /// this event (errno EPIPE) when the server public key it uses is wrong,
  /// and also when the server enforces its ZAP domain but runs no ZAP
  /// handler, because in both cases the server closes the connection.
  failed_no_detail,
};

/// One decoded monitor event.
struct HandshakeEvent {
  HandshakeEventKind kind;
  /// For failed_auth the ZAP status code (400 for a rejected key), for
  /// failed_protocol a ZMQ_PROTOCOL_ERROR_* code, for failed_no_detail an
  /// errno value, otherwise the file descriptor libzmq reports.
  std::uint32_t value = 0;
  /// The endpoint the event belongs to, e.g. "tcp://127.0.0.1:40123".
  std::string endpoint;
};

/// Returns the enumerator's name, e.g. "failed_auth".
[[nodiscard]] std::string_view to_string(HandshakeEventKind kind);

/// Watches a client socket's connections through zmq_socket_monitor and
/// exposes the events on a PAIR socket that the socket's owner thread polls.
///
/// The monitor, the monitored socket and the event socket all belong to one
/// thread. Create the monitor before the socket connects, so that no event
/// is missed, and destroy it before the socket.
class HandshakeMonitor {
 public:
  /// Starts monitoring socket.
  /// Throws: zmq::error_t if libzmq cannot start the monitor.
  HandshakeMonitor(zmq::context_t& context, zmq::socket_t& socket);

  /// Stops monitoring, if the monitored socket is still open.
  ~HandshakeMonitor() noexcept;

  HandshakeMonitor(const HandshakeMonitor&) = delete;
  HandshakeMonitor& operator=(const HandshakeMonitor&) = delete;
  HandshakeMonitor(HandshakeMonitor&&) = delete;
  HandshakeMonitor& operator=(HandshakeMonitor&&) = delete;

  /// The PAIR socket that receives the events. Poll it for ZMQ_POLLIN.
  [[nodiscard]] zmq::socket_t& event_socket() { return event_socket_; }

  /// A poll item for event_socket(), ready for zmq::poll.
  [[nodiscard]] zmq::pollitem_t poll_item();

  /// Reads the next event, waiting up to timeout for one.
  /// Returns nullopt if no event arrived in time.
  /// Throws: TransportError if the monitor message is malformed;
  /// zmq::error_t on a socket error.
  [[nodiscard]] std::optional<HandshakeEvent> read_event(
      std::chrono::milliseconds timeout = std::chrono::milliseconds{0});

 private:
  zmq::socket_t& monitored_;
  zmq::socket_t event_socket_;
};

}  // namespace mkmap::transport
