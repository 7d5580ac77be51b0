#include "pipeline/solver_pool.hpp"

#include <cstdlib>
#include <optional>
#include <spdlog/spdlog.h>
#include <string>

#include "kinetics/point_solver.hpp"
#include "protocol/run_plan.hpp"

namespace mkmap {
namespace {

// Test hook: a worker whose environment sets MKMAP_TEST_ABORT_AT_POINT to a
// grid index aborts when it starts that point, as a solver crash would.
std::optional<std::int64_t> abort_point() {
  const char* value = std::getenv("MKMAP_TEST_ABORT_AT_POINT");
  if (value == nullptr) return std::nullopt;
  return std::stoll(value);
}

}  // namespace

SolverPool::SolverPool(zmq::context_t& context, const std::string& results_endpoint,
                       int threads)
    : context_(context), results_endpoint_(results_endpoint) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this, i] { run(i); });
}

SolverPool::~SolverPool() noexcept {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  ready_.notify_all();
  for (std::thread& thread : threads_) thread.join();
}

void SolverPool::submit(protocol::Task task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(std::move(task));
  }
  ready_.notify_one();
}

bool SolverPool::next_task(protocol::Task& task) {
  std::unique_lock<std::mutex> lock(mutex_);
  ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
  if (stopping_) return false;
  task = std::move(queue_.front());
  queue_.pop_front();
  return true;
}

protocol::Result SolverPool::solve(const protocol::Task& task) {
  protocol::Result result;
  result.run_id = task.run_id;
  result.chunk_id = task.chunk_id;
  result.attempt = task.attempt;
  result.worker_threads = threads();

  Model model;
  std::string model_error;
  try {
    model = model_from_task(task);
  } catch (const std::exception& error) {
    model_error = std::string("invalid model in task: ") + error.what();
  }

  static const std::optional<std::int64_t> crash_at = abort_point();
  for (const GridPoint& point : task.points) {
    if (stopping_) break;
    if (crash_at && *crash_at == point.index) std::abort();
    if (!model_error.empty()) {
      PointResult failed;
      failed.index = point.index;
      failed.reason = model_error;
      result.points.push_back(std::move(failed));
      continue;
    }
    result.points.push_back(solve_point(model, point));
  }
  return result;
}

void SolverPool::run(int thread_index) noexcept {
  try {
    zmq::socket_t results(context_, zmq::socket_type::push);
    results.set(zmq::sockopt::linger, 0);
    results.connect(results_endpoint_);

    protocol::Task task;
    while (next_task(task)) {
      protocol::Result result = solve(task);
      if (stopping_) break;
      const std::string bytes = protocol::encode(result);
      results.send(zmq::buffer(bytes), zmq::send_flags::none);
    }
  } catch (const std::exception& error) {
    spdlog::error("solver thread {} stopped: {}", thread_index, error.what());
  }
}

}  // namespace mkmap
