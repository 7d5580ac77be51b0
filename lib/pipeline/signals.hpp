#pragma once
// SIGINT and SIGTERM as a flag that main loops poll.

namespace mkmap {

/// Installs handlers that set the stop flag on SIGINT and SIGTERM.
void install_stop_handlers();

/// True once SIGINT or SIGTERM arrived.
bool stop_requested() noexcept;

/// Returns the signal that set the stop flag, 0 when none did.
int stop_signal() noexcept;

}  // namespace mkmap
