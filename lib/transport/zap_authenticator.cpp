#include "transport/zap_authenticator.hpp"

#include <cerrno>
#include <iterator>
#include <utility>

#include <zmq_addon.hpp>

#include "transport/errors.hpp"
#include "transport/key_pair.hpp"
#include "transport/zap_protocol.hpp"

namespace mkmap::transport {
namespace {

/// Frames of a ZAP 1.0 request as libzmq 4.3 sends it: version, request id,
/// domain, address, routing id, mechanism, then the mechanism's credentials.
constexpr std::size_t kVersionFrame = 0;
constexpr std::size_t kRequestIdFrame = 1;
constexpr std::size_t kDomainFrame = 2;
constexpr std::size_t kAddressFrame = 3;
constexpr std::size_t kMechanismFrame = 5;
/// A CURVE request has exactly one credential, the client's binary public key.
constexpr std::size_t kCurveRequestFrames = 7;
constexpr std::size_t kCurveKeyFrame = 6;

/// Returns a fresh inproc endpoint for a handler's stop signal.
std::string make_stop_endpoint() {
  static std::atomic<std::uint64_t> next_id{0};
  return "inproc://mkmap-zap-stop-" + std::to_string(next_id++);
}

std::string frame_text(const std::vector<zmq::message_t>& frames,
                       std::size_t index) {
  return index < frames.size() ? frames[index].to_string() : std::string();
}

void validate_trusted_keys(const std::map<std::string, std::string>& keys) {
  for (const auto& [name, public_z85] : keys) {
    check_key_name(name);
    if (!is_valid_z85_key(public_z85)) {
      throw KeyError("trusted key \"" + name +
                     "\" is not a valid CURVE public key (expected " +
                     std::to_string(kZ85KeySize) + " Z85 characters)");
    }
  }
}

}  // namespace

ZapAuthenticator::ZapAuthenticator(zmq::context_t& context,
                                   std::filesystem::path authorized_dir,
                                   std::map<std::string, std::string> trusted_keys,
                                   ZapObserver observer)
    : trusted_keys_(std::move(trusted_keys)),
      observer_(std::move(observer)),
      authorized_keys_(std::move(authorized_dir)),
      handler_socket_(context, zmq::socket_type::rep),
      stop_receiver_(context, zmq::socket_type::pair),
      stop_sender_(context, zmq::socket_type::pair) {
  validate_trusted_keys(trusted_keys_);

  // Replies to a peer that is gone must not hold up closing the socket.
  handler_socket_.set(zmq::sockopt::linger, 0);
  stop_sender_.set(zmq::sockopt::linger, 0);
  try {
    handler_socket_.bind(std::string(kZapEndpoint));
  } catch (const zmq::error_t& error) {
    throw TransportError("cannot bind the ZAP handler to " +
                         std::string(kZapEndpoint) + ": " + error.what() +
                         (error.num() == EADDRINUSE
                              ? "; only one ZAP handler can run per ZeroMQ context"
                              : ""));
  }

  const std::string stop_endpoint = make_stop_endpoint();
  stop_receiver_.bind(stop_endpoint);
  stop_sender_.connect(stop_endpoint);

  // From here on the thread owns handler_socket_ and stop_receiver_.
  thread_ = std::thread(&ZapAuthenticator::run, this);
}

ZapAuthenticator::~ZapAuthenticator() noexcept {
  try {
    stop_sender_.send(zmq::str_buffer("stop"), zmq::send_flags::dontwait);
  } catch (const zmq::error_t&) {
    // The context was shut down, so the thread gets ETERM and stops anyway.
  }
  if (thread_.joinable()) {
    thread_.join();
  }
}

std::string ZapAuthenticator::last_rejected_fingerprint() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return last_rejected_fingerprint_;
}

std::string ZapAuthenticator::failure() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return failure_;
}

void ZapAuthenticator::run() noexcept {
  try {
    serve();
  } catch (const std::exception& error) {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      failure_ = error.what();
    }
    running_ = false;

    // Unbinding the ZAP endpoint makes libzmq fail every later handshake on
    // sockets that enforce the ZAP domain, instead of leaving them waiting.
    handler_socket_.close();
    try {
      notify({ZapEvent::Kind::handler_failed, {}, {}, {},
              "ZAP handler stopped: " + std::string(error.what())});
    } catch (const std::exception&) {
      // The observer threw again, but failure() still contains the error.
    }
  }
}

void ZapAuthenticator::serve() {
  constexpr std::size_t kRequestItem = 0;
  constexpr std::size_t kStopItem = 1;
  std::vector<zmq::pollitem_t> items = {
      {handler_socket_.handle(), 0, ZMQ_POLLIN, 0},
      {stop_receiver_.handle(), 0, ZMQ_POLLIN, 0},
  };
  while (true) {
    try {
      zmq::poll(items);
    } catch (const zmq::error_t& error) {
      if (error.num() == EINTR) {
        continue;
      }
      if (error.num() == ETERM) {
        return;
      }
      throw;
    }

    if ((items[kStopItem].revents & ZMQ_POLLIN) != 0) {
      return;
    }
    if ((items[kRequestItem].revents & ZMQ_POLLIN) != 0) {
      handle_request();
    }
  }
}

void ZapAuthenticator::handle_request() {
  std::vector<zmq::message_t> request;
  if (!zmq::recv_multipart(handler_socket_, std::back_inserter(request))) {
    return;
  }

  const Decision decision = decide(request);
  const std::string peer_address = frame_text(request, kAddressFrame);
  if (decision.accepted) {
    ++accepted_;
  } else {
    ++rejected_;
    const std::lock_guard<std::mutex> lock(mutex_);
    last_rejected_fingerprint_ = decision.fingerprint;
  }

  // The observer runs before the reply, so the events of a handshake are
  // reported by the time the client learns its outcome.
  report_key_file_problems();
  notify({decision.accepted ? ZapEvent::Kind::accepted : ZapEvent::Kind::rejected,
          decision.user_id, decision.fingerprint, peer_address,
          decision.reason});

  // A REP socket must reply to every request before it can receive the next.
  send_reply(frame_text(request, kRequestIdFrame), decision);
}

void ZapAuthenticator::send_reply(const std::string& request_id,
                                  const Decision& decision) {
  const std::string_view status =
      decision.accepted ? kZapStatusOk : decision.failure_status;
  std::vector<zmq::message_t> reply;
  reply.emplace_back(kZapVersion.data(), kZapVersion.size());
  reply.emplace_back(request_id);
  reply.emplace_back(status.data(), status.size());
  reply.emplace_back(decision.accepted ? std::string("OK") : decision.reason);
  reply.emplace_back(decision.user_id);
  reply.emplace_back();  // no metadata
  zmq::send_multipart(handler_socket_, reply);
}

ZapAuthenticator::Decision ZapAuthenticator::decide(
    const std::vector<zmq::message_t>& request) {
  Decision decision;
  if (request.size() <= kMechanismFrame ||
      frame_text(request, kVersionFrame) != kZapVersion) {
    decision.failure_status = kZapStatusInternalError;
    decision.reason = "malformed ZAP request";
    return decision;
  }
  if (frame_text(request, kDomainFrame) != kZapDomain) {
    decision.reason = "ZAP domain \"" + frame_text(request, kDomainFrame) +
                      "\" is not \"" + std::string(kZapDomain) + "\"";
    return decision;
  }
  if (frame_text(request, kMechanismFrame) != "CURVE") {
    decision.reason = "security mechanism " +
                      frame_text(request, kMechanismFrame) + " is not CURVE";
    return decision;
  }
  if (request.size() != kCurveRequestFrames ||
      request[kCurveKeyFrame].size() != kBinaryKeySize) {
    decision.reason = "malformed CURVE credentials";
    return decision;
  }

  const std::string public_z85 = encode_z85_key(request[kCurveKeyFrame].to_string_view());
  decision.fingerprint = fingerprint(public_z85);
  if (auto name = find_name(public_z85)) {
    decision.accepted = true;
    decision.user_id = std::move(*name);
  } else {
    decision.reason = "key not authorized";
  }
  return decision;
}

std::optional<std::string> ZapAuthenticator::find_name(const std::string& public_z85) {
  for (const auto& [name, trusted_z85] : trusted_keys_) {
    if (trusted_z85 == public_z85) {
      return name;
    }
  }
  return authorized_keys_.find(public_z85);
}

void ZapAuthenticator::report_key_file_problems() {
  for (std::string& problem : authorized_keys_.take_new_problems()) {
    notify({ZapEvent::Kind::key_file_problem, {}, {}, {}, std::move(problem)});
  }
}

void ZapAuthenticator::notify(const ZapEvent& event) {
  if (observer_) {
    observer_(event);
  }
}

}  // namespace mkmap::transport
