#pragma once
// SIGINT and SIGTERM as a flag that main loops poll.

#include <chrono>
#include <vector>
#include <zmq.hpp>

namespace mkmap {

/// Installs handlers that set the stop flag on SIGINT and SIGTERM.
void install_stop_handlers();

/// True once SIGINT or SIGTERM arrived.
bool stop_requested() noexcept;

/// Returns the signal that set the stop flag, 0 when none did.
int stop_signal() noexcept;

/// Polls like zmq::poll, but returns normally when a signal interrupts the
/// wait, so that the caller's loop can check stop_requested().
void poll_until_signal(std::vector<zmq::pollitem_t>& items, std::chrono::milliseconds timeout);

}  // namespace mkmap
