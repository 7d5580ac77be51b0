#pragma once
// ZAP handler that admits CURVE clients whose public key is authorized.

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "transport/authorized_keys.hpp"
#include "transport/zap_protocol.hpp"

namespace mkmap::transport {

/// One decision or problem of the ZAP handler, for the caller to log.
struct ZapEvent {
  enum class Kind {
    /// A client was admitted. user_id, fingerprint and peer_address are set.
    accepted,
    /// A client was rejected. fingerprint is empty when the request carried
    /// no valid CURVE key. detail gives the reason.
    rejected,
    /// A key file or the authorized-keys folder failed to load. detail names
    /// the file and the error.
    key_file_problem,
    /// The handler thread stopped on an error, so every later client fails
    /// its handshake. detail gives the error.
    handler_failed,
  };

  Kind kind;
  std::string user_id;
  std::string fingerprint;
  /// IP address of the peer as libzmq reports it.
  std::string peer_address;
  std::string detail;
};

/// Receives ZapEvents on the handler thread. It must return quickly and
/// must not throw: an exception stops the handler (see ZapEvent::Kind).
using ZapObserver = std::function<void(const ZapEvent&)>;

/// ZAP 1.0 handler for one ZeroMQ context (the Ironhouse pattern). It admits
/// a CURVE client whose public key is one of the trusted keys given at
/// construction or is stored in a *.key file of the authorized-keys folder,
/// and gives the connection the key's name as its User-Id. Everything else
/// gets status 400. The folder is read again at each request, so adding or
/// removing a file takes effect at the next connection.
///
/// The handler binds inproc://zeromq.zap.01 before the constructor returns
/// and replies to requests on its own thread, which owns the socket until the
/// destructor joins it. At most one handler can exist per context. The
/// context must outlive the handler.
class ZapAuthenticator {
 public:
  /// trusted_keys maps a name to a public key [40 Z85 characters].
  /// Throws: KeyError if a trusted name or key is invalid; TransportError if
  /// the ZAP endpoint is already bound in this context.
  ZapAuthenticator(zmq::context_t& context,
                   std::filesystem::path authorized_dir,
                   std::map<std::string, std::string> trusted_keys = {},
                   ZapObserver observer = {});

  /// Stops and joins the handler thread.
  ~ZapAuthenticator() noexcept;

  ZapAuthenticator(const ZapAuthenticator&) = delete;
  ZapAuthenticator& operator=(const ZapAuthenticator&) = delete;
  ZapAuthenticator(ZapAuthenticator&&) = delete;
  ZapAuthenticator& operator=(ZapAuthenticator&&) = delete;

  [[nodiscard]] std::uint64_t accepted_count() const { return accepted_; }
  [[nodiscard]] std::uint64_t rejected_count() const { return rejected_; }

  /// Fingerprint of the last rejected client key, empty if none was rejected
  /// or the last rejected request carried no valid key.
  [[nodiscard]] std::string last_rejected_fingerprint() const;

  /// False once the handler thread has stopped on an error.
  [[nodiscard]] bool running() const { return running_; }

  /// Error that stopped the handler thread, empty while it runs.
  [[nodiscard]] std::string failure() const;

 private:
  /// Outcome of one ZAP request.
  struct Decision {
    bool accepted = false;
    std::string user_id;
    std::string fingerprint;
    /// ZAP status code sent when accepted is false.
    std::string_view failure_status = kZapStatusDenied;
    std::string reason;
  };

  void run() noexcept;
  void serve();
  void handle_request();
  void send_reply(const std::string& request_id, const Decision& decision);
  Decision decide(const std::vector<zmq::message_t>& request);
  /// Looks a key up in the trusted keys, then in the authorized folder.
  std::optional<std::string> find_name(const std::string& public_z85);
  void report_key_file_problems();
  void notify(const ZapEvent& event);

  std::map<std::string, std::string> trusted_keys_;
  ZapObserver observer_;
  AuthorizedKeys authorized_keys_;

  zmq::socket_t handler_socket_;
  zmq::socket_t stop_receiver_;
  zmq::socket_t stop_sender_;

  std::atomic<std::uint64_t> accepted_{0};
  std::atomic<std::uint64_t> rejected_{0};
  std::atomic<bool> running_{true};
  mutable std::mutex mutex_;
  std::string last_rejected_fingerprint_;
  std::string failure_;

  std::thread thread_;
};

}  // namespace mkmap::transport
