#pragma once
// Solver threads of a worker. Each thread owns one inproc PUSH socket on
// which it returns encoded results to the thread that owns the network
// sockets.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "protocol/messages.hpp"

namespace mkmap {

class SolverPool {
 public:
  /// Starts threads solver threads that send encoded protocol::Result
  /// messages to results_endpoint (an inproc endpoint already bound).
  SolverPool(zmq::context_t& context, const std::string& results_endpoint, int threads);
  /// Stops the threads; a chunk in progress is abandoned after its
  /// current point.
  ~SolverPool() noexcept;

  SolverPool(const SolverPool&) = delete;
  SolverPool& operator=(const SolverPool&) = delete;

  /// Queues a chunk for the next free thread.
  void submit(protocol::Task task);

  int threads() const noexcept { return static_cast<int>(threads_.size()); }

 private:
  void run(int thread_index) noexcept;
  bool next_task(protocol::Task& task);
  protocol::Result solve(const protocol::Task& task);

  zmq::context_t& context_;
  std::string results_endpoint_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<protocol::Task> queue_;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
};

}  // namespace mkmap
