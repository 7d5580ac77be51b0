#pragma once
// The ventilator's book of chunks and workers: who has credit, which chunk
// is leased to whom until when, which chunks are done, re-dispatched or
// given up. Pure logic with time passed in, so it is testable without
// sockets.

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "protocol/messages.hpp"

namespace mkmap {

using LedgerClock = std::chrono::steady_clock;

struct LedgerConfig {
  /// A chunk whose lease expires or whose worker vanishes this many times
  /// is given up and recorded as failed.
  int max_failures = 3;
  /// Time a worker has to return a chunk before it is sent elsewhere.
  std::chrono::milliseconds lease_time{300000};
  /// A worker silent for this long is taken as gone; workers send a
  /// heartbeat every second.
  std::chrono::milliseconds worker_timeout{5000};
  /// Once no chunk waits, send the oldest outstanding chunks to idle
  /// workers as backups, so one slow machine does not hold up the end.
  bool backups = true;
  /// A chunk becomes a backup candidate only after it has been out this
  /// long, longer than the sink takes to report a done chunk, so chunks
  /// already solved are not solved again.
  std::chrono::milliseconds backup_after{2000};
};

/// One chunk to send: to which worker, which attempt.
struct Dispatch {
  std::string worker;       ///< ROUTER routing id
  std::string worker_name;  ///< authenticated name, for logs
  std::int64_t chunk = 0;
  std::int32_t attempt = 1;
  bool backup = false;
};

/// Something the ventilator logs or acts on.
struct LedgerEvent {
  enum class Kind { worker_joined, worker_lost, lease_expired, given_up };
  Kind kind;
  std::string worker_name;
  std::int64_t chunk = -1;
  std::int32_t attempt = 0;
  std::string reason;
};

class ChunkLedger {
 public:
  ChunkLedger(std::int64_t chunk_count, LedgerConfig config);

  /// Records a worker's offer of capacity and heartbeat.
  void update_worker(const std::string& worker, const std::string& name,
                     const protocol::Ready& ready, LedgerClock::time_point now);

  /// Returns the next chunk to send, or nothing when no worker has credit
  /// or no chunk needs sending.
  std::optional<Dispatch> next_dispatch(LedgerClock::time_point now);

  /// Forgets a worker that can no longer be reached; its chunks wait for
  /// another worker without counting as failures.
  void drop_worker(const std::string& worker);

  /// Marks chunks the sink reports as done.
  void mark_done(const std::vector<protocol::ChunkRange>& ranges);

  /// Expires leases and drops silent workers. Returns what happened,
  /// including chunks given up, which the caller reports to the sink.
  std::vector<LedgerEvent> expire(LedgerClock::time_point now);

  bool all_done() const noexcept { return done_ == chunk_count_; }
  std::int64_t done() const noexcept { return done_; }
  std::int64_t in_flight() const noexcept { return static_cast<std::int64_t>(leased_.size()); }
  std::int64_t waiting() const noexcept;
  std::int64_t redispatched() const noexcept { return redispatched_; }
  std::int64_t backups() const noexcept { return backups_; }
  /// Chunks sent so far, re-dispatches and backups included.
  std::int64_t dispatched() const noexcept { return dispatched_; }
  std::int64_t given_up() const noexcept { return given_up_; }
  std::size_t workers() const noexcept { return workers_.size(); }
  /// Routing ids of the workers heard from and not lost.
  std::vector<std::string> worker_ids() const;
  /// Events from update_worker (joins) since the last call.
  std::vector<LedgerEvent> take_events();

 private:
  enum class State { waiting, leased, done };
  struct Lease {
    std::string worker;
    std::int32_t attempt = 0;
    LedgerClock::time_point sent;
    LedgerClock::time_point deadline;
  };
  struct Chunk {
    State state = State::waiting;
    std::int32_t attempts = 0;
    int failures = 0;
    std::vector<Lease> leases;
  };
  struct Worker {
    std::string name;
    std::int32_t free_slots = 0;
    std::int64_t tasks_received = 0;
    std::int64_t tasks_sent = 0;
    LedgerClock::time_point last_seen;
    std::set<std::int64_t> leased_chunks;
  };

  std::int64_t available(const Worker& worker) const;
  std::optional<std::int64_t> next_waiting();
  std::optional<std::int64_t> backup_for(const std::string& worker,
                                         LedgerClock::time_point now) const;
  void release(std::int64_t chunk, const std::string& worker);
  void fail(std::int64_t chunk, LedgerEvent event, std::vector<LedgerEvent>& events);

  std::int64_t chunk_count_;
  LedgerConfig config_;
  std::vector<Chunk> chunks_;
  std::deque<std::int64_t> queue_;
  std::set<std::int64_t> leased_;
  std::map<std::string, Worker> workers_;
  std::vector<LedgerEvent> events_;
  std::int64_t done_ = 0;
  std::int64_t redispatched_ = 0;
  std::int64_t dispatched_ = 0;
  std::int64_t backups_ = 0;
  std::int64_t given_up_ = 0;
};

}  // namespace mkmap
