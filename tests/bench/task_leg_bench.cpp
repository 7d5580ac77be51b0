// Measures the task leg (ventilator -> worker) on loopback TCP with libzmq and cppzmq:
//  (a) how many task messages one idle PULL worker absorbs before the PUSH side's
//      non-blocking send returns EAGAIN, for two high-water marks and two kernel
//      buffer sizes;
//  (b) how a batch of 10 ms tasks splits between a worker present from the start and
//      a worker that connects 0.5 s later. The PUSH ventilator either sends as fast
//      as PUSH accepts or keeps at most K tasks in flight;
//  (c) the same batch with ROUTER/DEALER credit. A worker sends one "ready" message
//      per free slot, and the ventilator sends a task only to a worker with credit.
// Each role gets its own ZeroMQ context, as separate processes would, but all run in
// this process, so one steady_clock times every event.
// Every socket binds or connects to tcp://127.0.0.1 with an ephemeral port.

#include <zmq.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using Milliseconds = std::chrono::duration<double, std::milli>;

// A task message for a chunk of 4 grid points is about 1.7 KiB.
constexpr std::size_t kChunkTaskBytes = 1740;
constexpr std::size_t kLargeTaskBytes = 16 * 1024;

constexpr int kDefaultHwmMessages = 1000;  // libzmq's default ZMQ_SNDHWM and ZMQ_RCVHWM
constexpr int kOsDefaultBuffer = -1;       // ZMQ_SNDBUF/ZMQ_RCVBUF value that keeps the OS size
constexpr int kSmallKernelBufferBytes = 4096;

// Part (a): a PUSH socket that stays without POLLOUT this long is taken as full. Moving
// one message between libzmq's I/O threads on loopback takes microseconds.
constexpr auto kSettleTime = std::chrono::milliseconds(200);
// Part (a) stops counting here even if the PUSH socket still accepts messages.
constexpr int kAbsorptionCapMessages = 1'000'000;

constexpr auto kHandshakeTimeout = std::chrono::seconds(5);
constexpr auto kDrainTimeout = std::chrono::seconds(2);

// Parts (b) and (c).
constexpr int kTaskCount = 200;
constexpr auto kSolveTime = std::chrono::milliseconds(10);  // simulated compute per task
constexpr auto kLateStart = std::chrono::milliseconds(500);
constexpr int kWorkerCount = 2;
constexpr int kSolverThreadsPerWorker = 2;
constexpr int kWindowTasks = 2 * kWorkerCount * kSolverThreadsPerWorker;
constexpr int kCreditPrefetch = 1;  // ready messages a worker sends beyond its solver threads
constexpr auto kRunTimeout = std::chrono::seconds(30);
// Poll timeout of every loop, so that a loop notices the stop flag or the deadline.
constexpr auto kPollInterval = std::chrono::milliseconds(20);

constexpr char kReadyMessage = 'R';

/// High-water marks and kernel buffer sizes applied to both ends of the task leg.
struct LegTuning {
  int hwm_messages;         ///< ZMQ_SNDHWM and ZMQ_RCVHWM [messages]
  int kernel_buffer_bytes;  ///< ZMQ_SNDBUF and ZMQ_RCVBUF [bytes]; -1 keeps the OS size
};

constexpr LegTuning kDefaultTuning{kDefaultHwmMessages, kOsDefaultBuffer};

void apply_tuning(zmq::socket_t& socket, const LegTuning& tuning) {
  socket.set(zmq::sockopt::sndhwm, tuning.hwm_messages);
  socket.set(zmq::sockopt::rcvhwm, tuning.hwm_messages);
  socket.set(zmq::sockopt::sndbuf, tuning.kernel_buffer_bytes);
  socket.set(zmq::sockopt::rcvbuf, tuning.kernel_buffer_bytes);
}

/// Creates a socket whose close drops unsent messages. The benchmark checks delivery
/// itself and must not hang at exit on a peer that is already gone.
zmq::socket_t make_socket(zmq::context_t& context, zmq::socket_type type) {
  zmq::socket_t socket(context, type);
  socket.set(zmq::sockopt::linger, 0);
  return socket;
}

/// Binds to an ephemeral loopback port. Returns: the endpoint that peers connect to.
std::string bind_loopback(zmq::socket_t& socket) {
  socket.bind("tcp://127.0.0.1:*");
  return socket.get(zmq::sockopt::last_endpoint);
}

bool wait_for(zmq::socket_t& socket, short event, std::chrono::milliseconds timeout) {
  zmq::pollitem_t item{socket.handle(), 0, event, 0};
  zmq::poll(&item, 1, timeout);
  return (item.revents & event) != 0;
}

std::int64_t to_ns(Clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count();
}

Clock::time_point from_ns(std::int64_t ns) {
  return Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(ns)));
}

/// Records when a socket completes its ZMTP handshake, from libzmq's socket monitor.
/// The time is taken when the event is read, so the owner must poll events() often.
class HandshakeMonitor {
 public:
  /// Throws: zmq::error_t when libzmq cannot start the monitor.
  HandshakeMonitor(zmq::context_t& context, zmq::socket_t& watched)
      : events_(make_socket(context, zmq::socket_type::pair)) {
    static std::atomic<int> next_id{0};
    const std::string endpoint = "inproc://handshake-monitor-" + std::to_string(next_id++);
    if (zmq_socket_monitor(watched.handle(), endpoint.c_str(), ZMQ_EVENT_HANDSHAKE_SUCCEEDED) != 0) {
      throw zmq::error_t();
    }
    events_.connect(endpoint);
  }

  zmq::socket_t& events() { return events_; }

  /// Reads every pending event without blocking.
  void read_events() {
    zmq::message_t event;
    while (events_.recv(event, zmq::recv_flags::dontwait)) {
      std::uint16_t event_id = 0;
      if (event.size() >= sizeof event_id) std::memcpy(&event_id, event.data(), sizeof event_id);

      // A monitor event has a second frame with the peer's endpoint, not needed here.
      bool more = event.more();
      while (more) {
        zmq::message_t frame;
        more = events_.recv(frame, zmq::recv_flags::none) && frame.more();
      }
      if (event_id == ZMQ_EVENT_HANDSHAKE_SUCCEEDED && !handshake_at_) handshake_at_ = Clock::now();
    }
  }

  /// Waits up to `timeout` for the first handshake. Returns: whether one completed.
  bool wait(std::chrono::milliseconds timeout) {
    const Clock::time_point deadline = Clock::now() + timeout;
    while (!handshake_at_ && Clock::now() < deadline) {
      if (wait_for(events_, ZMQ_POLLIN, kPollInterval)) read_events();
    }
    return handshake_at_.has_value();
  }

  std::optional<Clock::time_point> handshake_at() const { return handshake_at_; }

 private:
  zmq::socket_t events_;
  std::optional<Clock::time_point> handshake_at_;
};

std::vector<char> make_task_payload(std::size_t bytes) {
  std::vector<char> payload(bytes);
  for (std::size_t i = 0; i < bytes; ++i) payload[i] = static_cast<char>('a' + i % 26);
  return payload;
}

// ---------------------------------------------------------------------------------------
// Part (a): messages absorbed by an idle PULL worker.

struct Absorption {
  int sent_at_first_eagain = 0;  ///< messages accepted before the first EAGAIN
  int sent_when_full = 0;        ///< messages accepted until no POLLOUT for kSettleTime
  int received = 0;              ///< messages the worker then received
};

/// Sends without blocking until the socket stays without POLLOUT for kSettleTime.
// NOTE: libzmq's pipe (src/pipe.cpp) reports reads back to the writer only once per
// low-water mark, half the HWM for the HWMs used here. With HWM 1000 the count
// therefore grows in steps of 500.
void fill_until_full(zmq::socket_t& push, const std::vector<char>& payload, Absorption& result) {
  bool seen_eagain = false;
  while (result.sent_when_full < kAbsorptionCapMessages) {
    if (push.send(zmq::buffer(payload), zmq::send_flags::dontwait)) {
      ++result.sent_when_full;
      continue;
    }

    if (!seen_eagain) result.sent_at_first_eagain = result.sent_when_full;
    seen_eagain = true;
    if (!wait_for(push, ZMQ_POLLOUT, kSettleTime)) return;
  }
}

/// Connects one PULL worker that does not receive, then fills the PUSH side until full.
/// Throws: std::runtime_error when the handshake does not complete.
Absorption measure_absorption(std::size_t message_bytes, const LegTuning& tuning) {
  zmq::context_t ventilator_context;
  zmq::context_t worker_context;

  zmq::socket_t push = make_socket(ventilator_context, zmq::socket_type::push);
  apply_tuning(push, tuning);
  const std::string endpoint = bind_loopback(push);
  HandshakeMonitor monitor(ventilator_context, push);

  zmq::socket_t pull = make_socket(worker_context, zmq::socket_type::pull);
  apply_tuning(pull, tuning);
  pull.connect(endpoint);

  // The pipe to the worker attaches to the PUSH socket just after the handshake.
  if (!monitor.wait(kHandshakeTimeout) || !wait_for(push, ZMQ_POLLOUT, kHandshakeTimeout)) {
    throw std::runtime_error("handshake of a PULL worker with " + endpoint + " timed out after " +
                             std::to_string(kHandshakeTimeout.count()) +
                             " s. Check that loopback TCP connections are allowed.");
  }

  Absorption result;
  fill_until_full(push, make_task_payload(message_bytes), result);

  // Every absorbed message must reach the worker once it starts receiving.
  pull.set(zmq::sockopt::rcvtimeo, static_cast<int>(std::chrono::milliseconds(kDrainTimeout).count()));
  zmq::message_t message;
  while (result.received < result.sent_when_full && pull.recv(message, zmq::recv_flags::none)) {
    ++result.received;
  }
  return result;
}

void print_absorption_table() {
  std::printf("(a) Messages absorbed by one connected, idle PULL worker\n");
  std::printf("    'first EAGAIN': sent before the first EAGAIN of a non-blocking send;\n");
  std::printf("    'full': sent until POLLOUT stayed off for %lld ms; 'received': drained afterwards.\n",
              static_cast<long long>(kSettleTime.count()));
  std::printf("%-10s %-6s %-13s %12s %10s %12s %10s\n", "task [B]", "HWM", "SNDBUF/RCVBUF",
              "first EAGAIN", "full", "full [KiB]", "received");

  for (const std::size_t bytes : {kChunkTaskBytes, kLargeTaskBytes}) {
    for (const int hwm : {1, kDefaultHwmMessages}) {
      for (const int buffer : {kOsDefaultBuffer, kSmallKernelBufferBytes}) {
        const Absorption result = measure_absorption(bytes, LegTuning{hwm, buffer});
        const std::string buffer_text = buffer < 0 ? "OS default" : std::to_string(buffer);
        std::printf("%-10zu %-6d %-13s %12d %10d %12.0f %10d\n", bytes, hwm, buffer_text.c_str(),
                    result.sent_at_first_eagain, result.sent_when_full,
                    static_cast<double>(result.sent_when_full) * static_cast<double>(bytes) / 1024.0,
                    result.received);
      }
    }
  }
  std::printf("\n");
}

// ---------------------------------------------------------------------------------------
// Parts (b) and (c): a batch of tasks, one early and one late worker.

enum class TaskLeg { push_pull, router_dealer };

/// Wire form of a finished task, from a solver thread through its worker to the ventilator.
struct TaskReport {
  std::uint32_t task_id;
  std::uint32_t worker_index;
  std::int64_t started_ns;   ///< steady_clock time when a solver thread took the task [ns]
  std::int64_t finished_ns;  ///< steady_clock time when the simulated compute ended [ns]
};

/// Task ids handed from a worker's socket thread to its solver threads.
class SolverQueue {
 public:
  void push(std::uint32_t task_id) {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      task_ids_.push_back(task_id);
    }
    ready_.notify_one();
  }

  /// Waits for a task. Returns: its id, or nothing once close() was called.
  std::optional<std::uint32_t> pop() {
    std::unique_lock<std::mutex> lock(mutex_);
    ready_.wait(lock, [this] { return closed_ || !task_ids_.empty(); });
    if (closed_) return std::nullopt;

    const std::uint32_t task_id = task_ids_.front();
    task_ids_.pop_front();
    return task_id;
  }

  void close() {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      closed_ = true;
    }
    ready_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::uint32_t> task_ids_;
  bool closed_ = false;
};

constexpr const char* kSolverDoneEndpoint = "inproc://solver-done";

void run_solver(zmq::context_t& context, SolverQueue& queue, std::uint32_t worker_index) {
  zmq::socket_t done = make_socket(context, zmq::socket_type::push);
  done.connect(kSolverDoneEndpoint);

  while (const std::optional<std::uint32_t> task_id = queue.pop()) {
    TaskReport report{*task_id, worker_index, to_ns(Clock::now()), 0};
    std::this_thread::sleep_for(kSolveTime);  // simulated compute, not synchronisation
    report.finished_ns = to_ns(Clock::now());
    done.send(zmq::buffer(&report, sizeof report), zmq::send_flags::none);
  }
}

struct WorkerSetup {
  std::uint32_t index;
  TaskLeg leg;
  LegTuning tuning;
  std::string task_endpoint;
  std::string result_endpoint;
};

struct WorkerTimes {
  std::optional<Clock::time_point> handshake_at;   ///< task socket handshake completed
  std::optional<Clock::time_point> first_task_at;  ///< first task received
};

/// One simulated worker: a socket thread (the caller) and kSolverThreadsPerWorker solver
/// threads. A PULL worker receives only while a solver thread is free, so any backlog
/// stays in ZeroMQ and kernel buffers. A DEALER worker receives whatever arrives,
/// which its credit bounds.
class SimulatedWorker {
 public:
  SimulatedWorker(const WorkerSetup& setup, const std::atomic<bool>& stop)
      : setup_(setup),
        stop_(stop),
        done_(make_socket(context_, zmq::socket_type::pull)),
        tasks_(make_socket(context_, setup.leg == TaskLeg::push_pull ? zmq::socket_type::pull
                                                                      : zmq::socket_type::dealer)),
        results_(make_socket(context_, zmq::socket_type::push)),
        monitor_(context_, tasks_) {
    done_.bind(kSolverDoneEndpoint);
    apply_tuning(tasks_, setup.tuning);
    tasks_.connect(setup.task_endpoint);
    results_.connect(setup.result_endpoint);
  }

  /// Serves tasks until the stop flag is set. Returns: the handshake and first-task times.
  WorkerTimes run() {
    std::vector<std::thread> solvers;
    for (int i = 0; i < kSolverThreadsPerWorker; ++i) {
      solvers.emplace_back(run_solver, std::ref(context_), std::ref(queue_), setup_.index);
    }

    if (setup_.leg == TaskLeg::router_dealer) {
      for (int i = 0; i < kSolverThreadsPerWorker + kCreditPrefetch; ++i) send_ready();
    }
    serve_until_stopped();

    queue_.close();
    for (std::thread& solver : solvers) solver.join();
    return WorkerTimes{monitor_.handshake_at(), first_task_at_};
  }

 private:
  bool wants_task() const {
    return setup_.leg == TaskLeg::router_dealer || in_hand_ < kSolverThreadsPerWorker;
  }

  void send_ready() { tasks_.send(zmq::buffer(&kReadyMessage, 1), zmq::send_flags::none); }

  void serve_until_stopped() {
    while (!stop_) {
      std::vector<zmq::pollitem_t> items{
          {tasks_.handle(), 0, static_cast<short>(wants_task() ? ZMQ_POLLIN : 0), 0},
          {done_.handle(), 0, ZMQ_POLLIN, 0},
          {monitor_.events().handle(), 0, ZMQ_POLLIN, 0}};
      zmq::poll(items, kPollInterval);

      if (items[2].revents & ZMQ_POLLIN) monitor_.read_events();
      if (items[1].revents & ZMQ_POLLIN) forward_reports();
      if (items[0].revents & ZMQ_POLLIN) receive_tasks();
    }
  }

  /// Sends each finished task to the ventilator's results socket and, with credit,
  /// returns the freed slot as a ready message.
  void forward_reports() {
    zmq::message_t report;
    while (done_.recv(report, zmq::recv_flags::dontwait)) {
      results_.send(report, zmq::send_flags::none);
      if (setup_.leg == TaskLeg::router_dealer) send_ready();
      --in_hand_;
    }
  }

  void receive_tasks() {
    zmq::message_t task;
    while (wants_task() && tasks_.recv(task, zmq::recv_flags::dontwait)) {
      if (task.size() < sizeof(std::uint32_t)) continue;
      if (!first_task_at_) first_task_at_ = Clock::now();

      std::uint32_t task_id = 0;
      std::memcpy(&task_id, task.data(), sizeof task_id);
      queue_.push(task_id);
      ++in_hand_;
    }
  }

  WorkerSetup setup_;
  const std::atomic<bool>& stop_;
  zmq::context_t context_;
  zmq::socket_t done_;
  zmq::socket_t tasks_;
  zmq::socket_t results_;
  HandshakeMonitor monitor_;
  SolverQueue queue_;
  int in_hand_ = 0;  ///< tasks received and not yet reported finished
  std::optional<Clock::time_point> first_task_at_;
};

struct TaskRecord {
  Clock::time_point sent_at;
  Clock::time_point started_at;
  Clock::time_point finished_at;
  int worker_index = -1;  ///< -1 until the task's report arrives
};

struct DispatchSetup {
  const char* label;
  TaskLeg leg;
  LegTuning tuning;
  std::size_t message_bytes;
  int window_tasks;  ///< maximum tasks sent and not yet reported finished
};

/// The ventilator: sends kTaskCount tasks on the task leg and counts reports on a
/// separate PUSH->PULL results socket.
class Ventilator {
 public:
  explicit Ventilator(const DispatchSetup& setup)
      : setup_(setup),
        tasks_(make_socket(context_, setup.leg == TaskLeg::push_pull ? zmq::socket_type::push
                                                                      : zmq::socket_type::router)),
        results_(make_socket(context_, zmq::socket_type::pull)),
        payload_(make_task_payload(setup.message_bytes)),
        records_(kTaskCount) {
    apply_tuning(tasks_, setup.tuning);
    // An unroutable identity then raises EHOSTUNREACH instead of dropping the task.
    if (setup.leg == TaskLeg::router_dealer) tasks_.set(zmq::sockopt::router_mandatory, true);
    task_endpoint_ = bind_loopback(tasks_);
    result_endpoint_ = bind_loopback(results_);
  }

  const std::string& task_endpoint() const { return task_endpoint_; }
  const std::string& result_endpoint() const { return result_endpoint_; }
  const std::vector<TaskRecord>& records() const { return records_; }

  /// Dispatches every task. Returns: whether all were reported finished before `deadline`.
  bool run(Clock::time_point deadline) {
    while (finished_ < kTaskCount) {
      if (Clock::now() > deadline) return false;

      const short task_events = setup_.leg == TaskLeg::router_dealer ? ZMQ_POLLIN
                                : may_send()                          ? ZMQ_POLLOUT
                                                                      : 0;
      std::vector<zmq::pollitem_t> items{{tasks_.handle(), 0, task_events, 0},
                                         {results_.handle(), 0, ZMQ_POLLIN, 0}};
      zmq::poll(items, kPollInterval);

      if (items[1].revents & ZMQ_POLLIN) collect_reports();
      if (setup_.leg == TaskLeg::router_dealer && (items[0].revents & ZMQ_POLLIN)) collect_credit();
      while (may_send() && try_send()) {
      }
    }
    return true;
  }

 private:
  bool may_send() const {
    return next_task_ < kTaskCount && next_task_ - finished_ < setup_.window_tasks;
  }

  /// Sends the next task without blocking. Returns: whether it was sent.
  bool try_send() {
    const std::uint32_t task_id = static_cast<std::uint32_t>(next_task_);
    std::memcpy(payload_.data(), &task_id, sizeof task_id);

    if (setup_.leg == TaskLeg::push_pull) {
      if (!tasks_.send(zmq::buffer(payload_), zmq::send_flags::dontwait)) return false;
    } else {
      if (credit_.empty()) return false;
      // With ZMQ_ROUTER_MANDATORY a full peer rejects the identity frame with EAGAIN, so
      // a failed send keeps the credit. Credit keeps every peer far below its HWM.
      if (!tasks_.send(zmq::buffer(credit_.front()), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
        return false;
      }
      tasks_.send(zmq::buffer(payload_), zmq::send_flags::none);
      credit_.pop_front();
    }

    records_[task_id].sent_at = Clock::now();
    ++next_task_;
    return true;
  }

  void collect_reports() {
    zmq::message_t message;
    while (results_.recv(message, zmq::recv_flags::dontwait)) {
      TaskReport report{};
      if (message.size() != sizeof report) continue;
      std::memcpy(&report, message.data(), sizeof report);
      if (report.task_id >= records_.size() || records_[report.task_id].worker_index >= 0) continue;

      TaskRecord& record = records_[report.task_id];
      record.worker_index = static_cast<int>(report.worker_index);
      record.started_at = from_ns(report.started_ns);
      record.finished_at = from_ns(report.finished_ns);
      ++finished_;
    }
  }

  /// Reads ready messages: each adds one credit for the worker that sent it.
  void collect_credit() {
    zmq::message_t identity;
    while (tasks_.recv(identity, zmq::recv_flags::dontwait)) {
      zmq::message_t ready;
      if (!identity.more() || !tasks_.recv(ready, zmq::recv_flags::none)) continue;
      credit_.push_back(identity.to_string());
    }
  }

  DispatchSetup setup_;
  zmq::context_t context_;
  zmq::socket_t tasks_;
  zmq::socket_t results_;
  std::string task_endpoint_;
  std::string result_endpoint_;
  std::vector<char> payload_;
  std::vector<TaskRecord> records_;
  std::deque<std::string> credit_;  ///< one worker identity per free slot, oldest first
  int next_task_ = 0;
  int finished_ = 0;
};

struct DispatchOutcome {
  bool complete = false;
  Clock::time_point start;
  std::vector<TaskRecord> records;
  WorkerTimes workers[kWorkerCount];
};

/// Runs a worker on its own thread. Any exception is stored for the caller to rethrow.
std::thread start_worker(const WorkerSetup& setup, const std::atomic<bool>& stop,
                         std::optional<Clock::time_point> start_at, WorkerTimes& times,
                         std::exception_ptr& failure) {
  return std::thread([setup, &stop, start_at, &times, &failure] {
    try {
      if (start_at) std::this_thread::sleep_until(*start_at);  // the late start under test
      SimulatedWorker worker(setup, stop);
      times = worker.run();
    } catch (...) {
      failure = std::current_exception();
    }
  });
}

DispatchOutcome run_dispatch(const DispatchSetup& setup) {
  Ventilator ventilator(setup);
  std::atomic<bool> stop{false};
  DispatchOutcome outcome;
  std::exception_ptr failures[kWorkerCount];

  outcome.start = Clock::now();
  std::thread workers[kWorkerCount];
  for (int i = 0; i < kWorkerCount; ++i) {
    const WorkerSetup worker_setup{static_cast<std::uint32_t>(i), setup.leg, setup.tuning,
                                   ventilator.task_endpoint(), ventilator.result_endpoint()};
    const std::optional<Clock::time_point> start_at =
        i == 0 ? std::nullopt : std::optional<Clock::time_point>(outcome.start + kLateStart);
    workers[i] = start_worker(worker_setup, stop, start_at, outcome.workers[i], failures[i]);
  }

  outcome.complete = ventilator.run(outcome.start + kRunTimeout);
  stop = true;
  for (std::thread& worker : workers) worker.join();
  for (const std::exception_ptr& failure : failures) {
    if (failure) std::rethrow_exception(failure);
  }

  outcome.records = ventilator.records();
  return outcome;
}

/// Returns: the maximum number of tasks outstanding at `worker_index` over the run, that
/// is sent to it and not yet finished. The count includes tasks in buffers and being solved.
int max_outstanding(const std::vector<TaskRecord>& records, int worker_index) {
  std::vector<std::pair<Clock::time_point, int>> changes;
  for (const TaskRecord& record : records) {
    if (record.worker_index != worker_index) continue;
    changes.emplace_back(record.sent_at, +1);
    changes.emplace_back(record.finished_at, -1);
  }
  std::sort(changes.begin(), changes.end());

  int outstanding = 0;
  int maximum = 0;
  for (const auto& change : changes) {
    outstanding += change.second;
    maximum = std::max(maximum, outstanding);
  }
  return maximum;
}

int count_tasks(const std::vector<TaskRecord>& records, int worker_index) {
  return static_cast<int>(std::count_if(records.begin(), records.end(), [worker_index](const TaskRecord& r) {
    return r.worker_index == worker_index;
  }));
}

std::string format_first_task_delay(const WorkerTimes& times) {
  if (!times.handshake_at) return "no handshake";
  if (!times.first_task_at) return "no task";

  char text[32];
  std::snprintf(text, sizeof text, "%.1f", Milliseconds(*times.first_task_at - *times.handshake_at).count());
  return text;
}

void print_dispatch_row(const DispatchSetup& setup) {
  const DispatchOutcome outcome = run_dispatch(setup);

  Clock::time_point last_finish = outcome.start;
  for (const TaskRecord& record : outcome.records) {
    if (record.worker_index >= 0) last_finish = std::max(last_finish, record.finished_at);
  }

  const LegTuning& tuning = setup.tuning;
  const std::string buffer_text =
      tuning.kernel_buffer_bytes < 0 ? "OS default" : std::to_string(tuning.kernel_buffer_bytes);
  std::printf("%-22s %-8zu %-5d %-13s %6d %6d %12s %8d %8d %9.2f%s\n", setup.label, setup.message_bytes,
              tuning.hwm_messages, buffer_text.c_str(), count_tasks(outcome.records, 0),
              count_tasks(outcome.records, 1), format_first_task_delay(outcome.workers[1]).c_str(),
              max_outstanding(outcome.records, 0), max_outstanding(outcome.records, 1),
              std::chrono::duration<double>(last_finish - outcome.start).count(),
              outcome.complete ? "" : "  (timed out)");
}

void print_dispatch_table() {
  std::printf("(b, c) %d tasks of %lld ms; worker 1 from the start, worker 2 connects %lld ms later;\n",
              kTaskCount, static_cast<long long>(kSolveTime.count()),
              static_cast<long long>(kLateStart.count()));
  std::printf("       %d solver threads per worker, window K = %d, credit = threads + %d.\n",
              kSolverThreadsPerWorker, kWindowTasks, kCreditPrefetch);
  std::printf("       'late first' [ms]: from worker 2's handshake to its first task received.\n");
  std::printf("       'out': max tasks sent to a worker and not yet finished by it, solving included.\n");
  std::printf("%-22s %-8s %-5s %-13s %6s %6s %12s %8s %8s %9s\n", "ventilator", "task [B]", "HWM",
              "SNDBUF/RCVBUF", "w1", "w2", "late first", "out w1", "out w2", "span [s]");

  constexpr LegTuning kTightTuning{1, kSmallKernelBufferBytes};
  constexpr int kCreditWindow = kTaskCount;  // credit alone bounds what is in flight

  for (const std::size_t bytes : {kChunkTaskBytes, kLargeTaskBytes}) {
    const DispatchSetup setups[] = {
        {"(i) PUSH, no limit", TaskLeg::push_pull, kDefaultTuning, bytes, kTaskCount},
        {"(i) PUSH, no limit", TaskLeg::push_pull, kTightTuning, bytes, kTaskCount},
        {"(ii) PUSH, window K", TaskLeg::push_pull, kDefaultTuning, bytes, kWindowTasks},
        {"(ii) PUSH, window K", TaskLeg::push_pull, kTightTuning, bytes, kWindowTasks},
        {"(c) ROUTER credit", TaskLeg::router_dealer, kDefaultTuning, bytes, kCreditWindow},
    };
    for (const DispatchSetup& setup : setups) print_dispatch_row(setup);
  }
}

}  // namespace

int main() {
  int major = 0;
  int minor = 0;
  int patch = 0;
  zmq_version(&major, &minor, &patch);
  std::printf("task leg benchmark: libzmq %d.%d.%d, cppzmq %d.%d.%d, loopback TCP\n\n", major, minor,
              patch, CPPZMQ_VERSION_MAJOR, CPPZMQ_VERSION_MINOR, CPPZMQ_VERSION_PATCH);

  try {
    print_absorption_table();
    print_dispatch_table();
  } catch (const zmq::error_t& error) {
    std::fprintf(stderr, "task leg benchmark failed: ZeroMQ error %d: %s\n", error.num(), error.what());
    return 1;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "task leg benchmark failed: %s\n", error.what());
    return 1;
  }
  return 0;
}
