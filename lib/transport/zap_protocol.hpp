#pragma once
// Constants of the ZeroMQ Authentication Protocol (ZAP 1.0) as mkmap uses
// it.

#include <string_view>

namespace mkmap::transport {

/// Endpoint where libzmq sends ZAP requests. The protocol fixes this name.
inline constexpr std::string_view kZapEndpoint = "inproc://zeromq.zap.01";
/// The only ZAP version libzmq 4.3 speaks.
inline constexpr std::string_view kZapVersion = "1.0";
/// ZAP domain set on every mkmap server socket. The handler rejects
/// requests from any other domain.
inline constexpr std::string_view kZapDomain = "mkmap";

/// ZAP status codes, sent as text.
inline constexpr std::string_view kZapStatusOk = "200";
inline constexpr std::string_view kZapStatusDenied = "400";
inline constexpr std::string_view kZapStatusInternalError = "500";

/// The ZAP status code as a number, as libzmq reports it in the
/// ZMQ_EVENT_HANDSHAKE_FAILED_AUTH monitor event.
inline constexpr int kZapStatusDeniedCode = 400;

}  // namespace mkmap::transport
