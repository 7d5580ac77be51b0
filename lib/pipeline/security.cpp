#include "pipeline/security.hpp"

#include <cstdlib>
#include <cstring>
#include <spdlog/spdlog.h>

#include "transport/key_file.hpp"
#include "transport/socket_options.hpp"

namespace mkmap {
namespace {

void log_zap_event(const transport::ZapEvent& event) {
  using Kind = transport::ZapEvent::Kind;
  switch (event.kind) {
    case Kind::accepted:
      spdlog::info("accepted client \"{}\" (key fingerprint {}) from {}", event.user_id,
                   event.fingerprint, event.peer_address);
      break;
    case Kind::rejected:
      spdlog::warn("rejected client with key fingerprint {} from {}: {}", event.fingerprint,
                   event.peer_address, event.detail);
      break;
    case Kind::key_file_problem:
      spdlog::warn("authorized key file skipped: {}", event.detail);
      break;
    case Kind::handler_failed:
      spdlog::error("ZAP handler stopped, so no client can connect: {}", event.detail);
      break;
  }
}

// Test hook: a server whose environment sets MKMAP_TEST_SKIP_ZAP_HANDLER=1
// starts no ZAP handler, so the end-to-end tests can check that
// ZMQ_ZAP_ENFORCE_DOMAIN then rejects every client.
bool skip_zap_handler() {
  const char* value = std::getenv("MKMAP_TEST_SKIP_ZAP_HANDLER");
  return value != nullptr && std::strcmp(value, "1") == 0;
}

}  // namespace

std::filesystem::path server_secret_path(const SecurityConfig& config) {
  return transport::secret_key_path(config.keys_dir, "server");
}

std::filesystem::path server_public_path(const SecurityConfig& config) {
  return transport::public_key_path(config.keys_dir, "server");
}

std::filesystem::path authorized_path(const SecurityConfig& config) {
  return config.keys_dir / "authorized";
}

ServerSecurity::ServerSecurity(zmq::context_t& context, const SecurityConfig& config) {
  if (!config.curve) {
    spdlog::warn("CURVE is off: traffic is plain text and any process that can reach the "
                 "ports gets work; use this only on a trusted machine");
    return;
  }
  key_pair_ = transport::load_secret_key_file(server_secret_path(config));
  if (skip_zap_handler()) {
    spdlog::warn("test switch MKMAP_TEST_SKIP_ZAP_HANDLER=1: no ZAP handler, so every "
                 "client is rejected; unset it for real runs");
    return;
  }
  std::map<std::string, std::string> trusted = {{kVentilatorUserId, key_pair_->public_z85}};
  zap_ = std::make_unique<transport::ZapAuthenticator>(context, authorized_path(config),
                                                       std::move(trusted), log_zap_event);
  spdlog::info("CURVE on: server key fingerprint {}, authorized keys in {}", fingerprint(),
               authorized_path(config).string());
}

void ServerSecurity::configure_server(zmq::socket_t& socket) const {
  if (key_pair_) transport::make_curve_server(socket, *key_pair_);
}

void ServerSecurity::configure_peer_client(zmq::socket_t& socket) const {
  if (key_pair_) transport::make_curve_client(socket, *key_pair_, key_pair_->public_z85);
}

std::string ServerSecurity::fingerprint() const {
  return key_pair_ ? transport::fingerprint(key_pair_->public_z85) : std::string("none");
}

std::string peer_user_id(const zmq::message_t& msg) {
  const char* user_id = zmq_msg_gets(msg.handle(), "User-Id");
  return user_id ? std::string(user_id) : std::string();
}

}  // namespace mkmap
