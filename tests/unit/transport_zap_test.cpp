#include <catch2/catch.hpp>

#include "temp_dir.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "transport/authorized_keys.hpp"
#include "transport/errors.hpp"
#include "transport/handshake_monitor.hpp"
#include "transport/key_file.hpp"
#include "transport/key_pair.hpp"
#include "transport/socket_options.hpp"
#include "transport/zap_authenticator.hpp"

namespace fs = std::filesystem;
using namespace mkmap::transport;
using mkmap::test::TempDir;
using std::chrono::milliseconds;

namespace {

/// Upper bound on how long an expected event may take on loopback.
constexpr milliseconds kEventTimeout{3000};
/// How long a receiver waits to show that no message arrives.
constexpr milliseconds kSilenceTimeout{300};

/// A CURVE server PULL socket bound to an ephemeral loopback port.
struct Server {
  Server(zmq::context_t& context, const KeyPair& keys, bool enforce_domain = true)
      : socket(context, zmq::socket_type::pull) {
    apply_common_options(socket);
    if (enforce_domain) {
      make_curve_server(socket, keys);
    } else {
      socket.set(zmq::sockopt::curve_server, true);
      socket.set(zmq::sockopt::curve_secretkey, keys.secret_z85);
    }
    socket.bind("tcp://127.0.0.1:*");
    endpoint = last_endpoint(socket);
  }

  /// Receives one message, or nullopt if none arrives within timeout.
  std::optional<zmq::message_t> receive(milliseconds timeout) {
    zmq::pollitem_t items[] = {{socket.handle(), 0, ZMQ_POLLIN, 0}};
    zmq::poll(items, 1, timeout);
    zmq::message_t message;
    if (!socket.recv(message, zmq::recv_flags::dontwait)) {
      return std::nullopt;
    }
    return message;
  }

  zmq::socket_t socket;
  std::string endpoint;
};

/// A CURVE client PUSH socket with a handshake monitor, connected to server.
struct Client {
  Client(zmq::context_t& context, const KeyPair& keys,
         const std::string& server_public_z85, const std::string& endpoint)
      : socket(context, zmq::socket_type::push) {
    apply_common_options(socket);
    make_curve_client(socket, keys, server_public_z85);
    monitor = std::make_unique<HandshakeMonitor>(context, socket);
    socket.connect(endpoint);
  }
  ~Client() {
    // A message that never got through would hold up close() for kLinger.
    socket.set(zmq::sockopt::linger, 0);
    monitor.reset();
  }

  /// Returns the first handshake outcome (success or failure), skipping
  /// connect and disconnect events, or nullopt on timeout.
  std::optional<HandshakeEvent> wait_for_handshake() {
    const auto deadline = std::chrono::steady_clock::now() + kEventTimeout;
    while (std::chrono::steady_clock::now() < deadline) {
      const auto left = std::chrono::duration_cast<milliseconds>(
          deadline - std::chrono::steady_clock::now());
      const auto event = monitor->read_event(std::max(left, milliseconds{1}));
      if (event && event->kind != HandshakeEventKind::connected &&
          event->kind != HandshakeEventKind::disconnected) {
        return event;
      }
    }
    return std::nullopt;
  }

  void send(const std::string& text) {
    REQUIRE(socket.send(zmq::buffer(text), zmq::send_flags::dontwait));
  }

  zmq::socket_t socket;
  std::unique_ptr<HandshakeMonitor> monitor;
};

/// ZapEvents collected from the handler thread.
class EventLog {
 public:
  ZapObserver observer() {
    return [this](const ZapEvent& event) {
      const std::lock_guard<std::mutex> lock(mutex_);
      events_.push_back(event);
    };
  }

  std::vector<ZapEvent> events() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    return events_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<ZapEvent> events_;
};

/// Keys and folders of one test run: a server pair, a worker pair and an
/// empty authorized folder.
struct Keys {
  Keys() {
    authorized = dir.path() / "authorized";
    create_private_directory(authorized);
  }

  void authorize(const KeyPair& pair) const {
    write_public_key_file(public_key_path(authorized, pair.name), pair);
  }

  TempDir dir;
  fs::path authorized;
  KeyPair server = generate_key_pair("server");
  KeyPair worker = generate_key_pair("worker-1");
};

}  // namespace

TEST_CASE("zap authorized client delivers", "[transport][zap]") {
  zmq::context_t context;
  Keys keys;
  keys.authorize(keys.worker);
  ZapAuthenticator authenticator(context, keys.authorized);
  Server server(context, keys.server);
  REQUIRE(server.endpoint.rfind("tcp://127.0.0.1:", 0) == 0);

  Client client(context, keys.worker, keys.server.public_z85, server.endpoint);
  const auto outcome = client.wait_for_handshake();
  REQUIRE(outcome);
  CHECK(outcome->kind == HandshakeEventKind::succeeded);
  CHECK(outcome->endpoint == server.endpoint);

  client.send("chunk 1");
  auto message = server.receive(kEventTimeout);
  REQUIRE(message);
  CHECK(message->to_string() == "chunk 1");
  CHECK(std::string(message->gets("User-Id")) == "worker-1");
  CHECK(authenticator.accepted_count() == 1);
  CHECK(authenticator.rejected_count() == 0);
}

TEST_CASE("zap unauthorized client rejected", "[transport][zap]") {
  zmq::context_t context;
  Keys keys;
  EventLog log;
  ZapAuthenticator authenticator(context, keys.authorized, {}, log.observer());
  Server server(context, keys.server);

  // The message is queued before the handshake, while the connection's
  // pipe exists. After a rejection PUSH may have no pipe to queue it on.
  Client client(context, keys.worker, keys.server.public_z85, server.endpoint);
  client.send("chunk 1");
  const auto outcome = client.wait_for_handshake();
  REQUIRE(outcome);
  CHECK(outcome->kind == HandshakeEventKind::failed_auth);
  CHECK(outcome->value == 400);
  CHECK_FALSE(server.receive(kSilenceTimeout));

  CHECK(authenticator.accepted_count() == 0);
  CHECK(authenticator.rejected_count() >= 1);
  CHECK(authenticator.last_rejected_fingerprint() ==
        fingerprint(keys.worker.public_z85));

  // The observer runs before the handler replies, so the rejection that
  // produced failed_auth is already logged.
  const std::vector<ZapEvent> events = log.events();
  REQUIRE_FALSE(events.empty());
  CHECK(events.front().kind == ZapEvent::Kind::rejected);
  CHECK(events.front().detail == "key not authorized");
  CHECK(events.front().peer_address == "127.0.0.1");
}

TEST_CASE("zap key added during run", "[transport][zap]") {
  zmq::context_t context;
  Keys keys;
  ZapAuthenticator authenticator(context, keys.authorized);
  Server server(context, keys.server);

  {
    Client rejected(context, keys.worker, keys.server.public_z85, server.endpoint);
    const auto outcome = rejected.wait_for_handshake();
    REQUIRE(outcome);
    REQUIRE(outcome->kind == HandshakeEventKind::failed_auth);
  }

  keys.authorize(keys.worker);
  Client accepted(context, keys.worker, keys.server.public_z85, server.endpoint);
  const auto outcome = accepted.wait_for_handshake();
  REQUIRE(outcome);
  CHECK(outcome->kind == HandshakeEventKind::succeeded);

  accepted.send("late worker");
  auto message = server.receive(kEventTimeout);
  REQUIRE(message);
  CHECK(std::string(message->gets("User-Id")) == "worker-1");
}

TEST_CASE("zap key removed during run", "[transport][zap]") {
  zmq::context_t context;
  Keys keys;
  keys.authorize(keys.worker);
  ZapAuthenticator authenticator(context, keys.authorized);
  Server server(context, keys.server);

  {
    Client first(context, keys.worker, keys.server.public_z85, server.endpoint);
    const auto outcome = first.wait_for_handshake();
    REQUIRE(outcome);
    REQUIRE(outcome->kind == HandshakeEventKind::succeeded);
  }

  fs::remove(public_key_path(keys.authorized, keys.worker.name));
  Client second(context, keys.worker, keys.server.public_z85, server.endpoint);
  const auto outcome = second.wait_for_handshake();
  REQUIRE(outcome);
  CHECK(outcome->kind == HandshakeEventKind::failed_auth);
  CHECK(outcome->value == 400);
}

TEST_CASE("zap trusted key accepted", "[transport][zap]") {
  zmq::context_t context;
  Keys keys;
  ZapAuthenticator authenticator(context, keys.authorized,
                                 {{"local", keys.worker.public_z85}});
  Server server(context, keys.server);

  Client client(context, keys.worker, keys.server.public_z85, server.endpoint);
  client.send("chunk 1");
  auto message = server.receive(kEventTimeout);
  REQUIRE(message);
  CHECK(std::string(message->gets("User-Id")) == "local");
}

TEST_CASE("zap invalid key file skipped", "[transport][zap]") {
  zmq::context_t context;
  Keys keys;
  keys.authorize(keys.worker);
  {
    std::ofstream broken(keys.authorized / "broken.key");
    broken << "curve\n    public-key = \"not a key\"\n";
  }
  EventLog log;
  ZapAuthenticator authenticator(context, keys.authorized, {}, log.observer());
  Server server(context, keys.server);

  Client client(context, keys.worker, keys.server.public_z85, server.endpoint);
  client.send("chunk 1");
  REQUIRE(server.receive(kEventTimeout));

  const std::vector<ZapEvent> events = log.events();
  REQUIRE(events.size() == 2);
  CHECK(events[0].kind == ZapEvent::Kind::key_file_problem);
  CHECK(events[0].detail.find("broken.key") != std::string::npos);
  CHECK(events[1].kind == ZapEvent::Kind::accepted);
  CHECK(events[1].user_id == "worker-1");
}

TEST_CASE("zap second handler in context", "[transport][zap]") {
  zmq::context_t context;
  Keys keys;
  ZapAuthenticator first(context, keys.authorized);
  CHECK_THROWS_AS(ZapAuthenticator(context, keys.authorized), TransportError);
}

TEST_CASE("zap enforce domain without handler", "[transport][zap]") {
  zmq::context_t context;
  Keys keys;

  SECTION("enforced: nothing gets through") {
    Server server(context, keys.server, true);
    Client client(context, keys.worker, keys.server.public_z85, server.endpoint);
    client.send("chunk 1");
    const auto outcome = client.wait_for_handshake();
    REQUIRE(outcome);
    CHECK(outcome->kind == HandshakeEventKind::failed_no_detail);
    CHECK_FALSE(server.receive(kSilenceTimeout));
  }

  SECTION("not enforced: libzmq accepts any client") {
    Server server(context, keys.server, false);
    Client client(context, keys.worker, keys.server.public_z85, server.endpoint);
    client.send("chunk 1");
    CHECK(server.receive(kEventTimeout));
  }
}

TEST_CASE("zap wrong server key", "[transport][zap]") {
  zmq::context_t context;
  Keys keys;
  keys.authorize(keys.worker);
  ZapAuthenticator authenticator(context, keys.authorized);
  Server server(context, keys.server);
  const KeyPair impostor = generate_key_pair("impostor");

  Client client(context, keys.worker, impostor.public_z85, server.endpoint);
  client.send("chunk 1");
  const auto outcome = client.wait_for_handshake();
  REQUIRE(outcome);
  CHECK(outcome->kind == HandshakeEventKind::failed_no_detail);
  CHECK_FALSE(server.receive(kSilenceTimeout));
  // The server cannot read the client's key, so it sends no ZAP request.
  CHECK(authenticator.accepted_count() == 0);
  CHECK(authenticator.rejected_count() == 0);
}

TEST_CASE("authorized keys replaced file", "[transport][zap]") {
  Keys keys;
  const KeyPair first = generate_key_pair("w");
  const KeyPair second = generate_key_pair("w");
  const fs::path path = public_key_path(keys.authorized, "w");
  AuthorizedKeys authorized(keys.authorized);

  write_public_key_file(path, first);
  CHECK(authorized.find(first.public_z85) == "w");

  // Replace the file right away, as mv does, so that only its inode and
  // times tell the cached and the new file apart.
  const fs::path staged = keys.dir.path() / "w.key";
  write_public_key_file(staged, second);
  fs::rename(staged, path);
  CHECK(authorized.find(first.public_z85) == std::nullopt);
  CHECK(authorized.find(second.public_z85) == "w");
  CHECK(authorized.take_new_problems().empty());
}

TEST_CASE("authorized keys missing folder", "[transport][zap]") {
  Keys keys;
  const KeyPair pair = generate_key_pair("w");
  AuthorizedKeys authorized(keys.dir.path() / "absent");

  CHECK(authorized.find(pair.public_z85) == std::nullopt);
  const std::vector<std::string> problems = authorized.take_new_problems();
  REQUIRE(problems.size() == 1);
  CHECK(problems.front().find("absent") != std::string::npos);

  // A lasting problem is reported once.
  CHECK(authorized.find(pair.public_z85) == std::nullopt);
  CHECK(authorized.take_new_problems().empty());
}

TEST_CASE("authorized keys skip other files", "[transport][zap]") {
  Keys keys;
  write_key_pair(keys.authorized, keys.worker);
  fs::create_directory(keys.authorized / "folder.key");
  AuthorizedKeys authorized(keys.authorized);

  // Only the public file counts; the secret file and the folder are skipped
  // without a problem.
  CHECK(authorized.find(keys.worker.public_z85) == "worker-1");
  CHECK(authorized.take_new_problems().empty());
}
