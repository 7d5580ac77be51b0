#pragma once
// Options that every mkmap socket gets, and the CURVE roles.

#include <chrono>
#include <cstdint>
#include <string>

#include <zmq.hpp>

#include "transport/key_pair.hpp"

namespace mkmap::transport {

/// How long close() keeps unsent messages for a peer. The default (-1)
/// hangs the process at exit when the peer is gone.
inline constexpr std::chrono::milliseconds kLinger{1000};
/// Interval between ZMTP heartbeats (PING) on an idle connection.
inline constexpr std::chrono::milliseconds kHeartbeatInterval{1000};
/// Time without any traffic after a PING until the connection is closed,
/// which allows three missed heartbeats.
inline constexpr std::chrono::milliseconds kHeartbeatTimeout{3000};
/// Time the peer waits for traffic from us before it closes the connection.
/// Each PING carries it to the peer.
inline constexpr std::chrono::milliseconds kHeartbeatTtl{3000};
/// Maximum time for the ZMTP and CURVE handshake of a new connection: a few
/// seconds leave room for slow links while a stalled peer is dropped soon.
inline constexpr std::chrono::milliseconds kHandshakeInterval{3000};
/// Default limit on one incoming message [bytes]. A larger message closes
/// the connection.
inline constexpr std::int64_t kDefaultMaxMessageSize_bytes = 64LL * 1024 * 1024;

/// ZMQ_ZAP_ENFORCE_DOMAIN. libzmq 4.3.4 declares it only in its draft API
/// but accepts it at run time.
#ifdef ZMQ_ZAP_ENFORCE_DOMAIN
inline constexpr int kZapEnforceDomainOption = ZMQ_ZAP_ENFORCE_DOMAIN;
#else
inline constexpr int kZapEnforceDomainOption = 93;
#endif

/// Sets the bounded linger, heartbeats, handshake interval and maximum
/// incoming message size on a socket. Call it before bind or connect.
/// Throws: zmq::error_t if libzmq rejects an option.
void apply_common_options(
    zmq::socket_t& socket,
    std::int64_t max_message_size_bytes = kDefaultMaxMessageSize_bytes);

/// Makes a socket a CURVE server with the server's key pair. It also sets
/// the ZAP domain and ZMQ_ZAP_ENFORCE_DOMAIN, so that without a running ZAP
/// handler every client is rejected instead of every client being accepted.
/// Call it before bind.
/// Throws: KeyError if the secret key is invalid; zmq::error_t if libzmq
/// rejects an option.
void make_curve_server(zmq::socket_t& socket, const KeyPair& server);

/// Makes a socket a CURVE client with its own key pair, which expects the
/// server public key server_public_z85 [40 Z85 characters]. Call it before
/// connect.
/// Throws: KeyError if a key is invalid; zmq::error_t if libzmq rejects an
/// option.
void make_curve_client(zmq::socket_t& socket, const KeyPair& client,
                       const std::string& server_public_z85);

/// Returns the socket's last bound or connected endpoint, e.g.
/// "tcp://127.0.0.1:40123" after binding "tcp://127.0.0.1:*".
/// Throws: zmq::error_t.
[[nodiscard]] std::string last_endpoint(zmq::socket_t& socket);

}  // namespace mkmap::transport
