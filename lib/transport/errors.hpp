#pragma once
// Exceptions thrown by the transport and security module.

#include <stdexcept>
#include <string>

namespace mkmap::transport {

/// Base of every exception this module throws itself. ZeroMQ failures
/// surface as zmq::error_t from cppzmq and are not wrapped.
class TransportError : public std::runtime_error {
 public:
  explicit TransportError(const std::string& message)
      : std::runtime_error(message) {}
};

/// A key, key name or key file is invalid, missing or unsafe. The message
/// names the file or value and gives the fix.
class KeyError : public TransportError {
 public:
  explicit KeyError(const std::string& message) : TransportError(message) {}
};

/// An endpoint file could not be written, read or parsed.
class EndpointFileError : public TransportError {
 public:
  explicit EndpointFileError(const std::string& message)
      : TransportError(message) {}
};

}  // namespace mkmap::transport
