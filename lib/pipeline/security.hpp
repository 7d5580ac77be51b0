#pragma once
// CURVE set-up shared by the three processes.
//
// The ventilator and the sink are CURVE servers with one server key pair
// and a ZAP handler that accepts the worker keys of an authorized folder.
// The ventilator talks to the sink as a client with that same server key
// pair, which the sink trusts under the name "ventilator".

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <zmq.hpp>

#include "transport/key_pair.hpp"
#include "transport/zap_authenticator.hpp"

namespace mkmap {

/// ZAP User-Id under which the sink accepts the ventilator.
constexpr const char* kVentilatorUserId = "ventilator";

struct SecurityConfig {
  /// False only when the user turned CURVE off explicitly.
  bool curve = true;
  /// Folder with server.key, server.key_secret and authorized/.
  std::filesystem::path keys_dir = "keys";
};

/// Returns keys_dir/server.key_secret.
std::filesystem::path server_secret_path(const SecurityConfig& config);
/// Returns keys_dir/server.key.
std::filesystem::path server_public_path(const SecurityConfig& config);
/// Returns keys_dir/authorized.
std::filesystem::path authorized_path(const SecurityConfig& config);

/// The server side of a process: its key pair and its ZAP handler.
class ServerSecurity {
 public:
  /// Loads the server key pair and starts the ZAP handler before any server
  /// socket exists. Throws: transport::KeyError when a key cannot be loaded.
  ServerSecurity(zmq::context_t& context, const SecurityConfig& config);

  /// Makes socket a CURVE server (nothing when CURVE is off).
  void configure_server(zmq::socket_t& socket) const;

  /// Makes socket a CURVE client of the other server process (nothing when
  /// CURVE is off).
  void configure_peer_client(zmq::socket_t& socket) const;

  bool curve() const noexcept { return key_pair_.has_value(); }
  std::string fingerprint() const;

 private:
  std::optional<transport::KeyPair> key_pair_;
  std::unique_ptr<transport::ZapAuthenticator> zap_;
};

/// Returns the ZAP User-Id of the peer that sent msg, or "" without CURVE.
std::string peer_user_id(const zmq::message_t& msg);

}  // namespace mkmap
