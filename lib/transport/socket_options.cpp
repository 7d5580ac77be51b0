#include "transport/socket_options.hpp"

#include "transport/errors.hpp"
#include "transport/zap_protocol.hpp"

namespace mkmap::transport {
namespace {

int to_int_ms(std::chrono::milliseconds duration) {
  return static_cast<int>(duration.count());
}

void check_key(const std::string& z85, const std::string& description) {
  if (!is_valid_z85_key(z85)) {
    throw KeyError(description + " is not a valid CURVE key (expected " +
                   std::to_string(kZ85KeySize) + " Z85 characters)");
  }
}

}  // namespace

void apply_common_options(zmq::socket_t& socket,
                          std::int64_t max_message_size_bytes) {
  socket.set(zmq::sockopt::linger, to_int_ms(kLinger));
  socket.set(zmq::sockopt::heartbeat_ivl, to_int_ms(kHeartbeatInterval));
  socket.set(zmq::sockopt::heartbeat_timeout, to_int_ms(kHeartbeatTimeout));
  socket.set(zmq::sockopt::heartbeat_ttl, to_int_ms(kHeartbeatTtl));
  socket.set(zmq::sockopt::handshake_ivl, to_int_ms(kHandshakeInterval));
  socket.set(zmq::sockopt::maxmsgsize, max_message_size_bytes);
}

void make_curve_server(zmq::socket_t& socket, const KeyPair& server) {
  check_key(server.secret_z85, "secret key of \"" + server.name + "\"");

  socket.set(zmq::sockopt::curve_server, true);
  socket.set(zmq::sockopt::curve_secretkey, server.secret_z85);
  socket.set(zmq::sockopt::zap_domain, std::string(kZapDomain));

  const int enforce = 1;
  if (zmq_setsockopt(socket.handle(), kZapEnforceDomainOption, &enforce,
                     sizeof enforce) != 0) {
    throw zmq::error_t();
  }
}

void make_curve_client(zmq::socket_t& socket, const KeyPair& client,
                       const std::string& server_public_z85) {
  check_key(client.public_z85, "public key of \"" + client.name + "\"");
  check_key(client.secret_z85, "secret key of \"" + client.name + "\"");
  check_key(server_public_z85, "server public key");

  socket.set(zmq::sockopt::curve_serverkey, server_public_z85);
  socket.set(zmq::sockopt::curve_publickey, client.public_z85);
  socket.set(zmq::sockopt::curve_secretkey, client.secret_z85);
}

std::string last_endpoint(zmq::socket_t& socket) {
  return socket.get(zmq::sockopt::last_endpoint);
}

}  // namespace mkmap::transport
