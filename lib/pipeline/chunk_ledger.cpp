#include "pipeline/chunk_ledger.hpp"

#include <algorithm>

namespace mkmap {

ChunkLedger::ChunkLedger(std::int64_t chunk_count, LedgerConfig config)
    : chunk_count_(chunk_count), config_(config), chunks_(chunk_count) {
  for (std::int64_t chunk = 0; chunk < chunk_count; ++chunk) queue_.push_back(chunk);
}

void ChunkLedger::update_worker(const std::string& worker, const std::string& name,
                                const protocol::Ready& ready, LedgerClock::time_point now) {
  auto [entry, inserted] = workers_.try_emplace(worker);
  Worker& record = entry->second;
  if (inserted) {
    record.name = name;
    events_.push_back({LedgerEvent::Kind::worker_joined, name, -1, 0,
                       std::to_string(ready.threads) + (ready.threads == 1 ? " thread" : " threads")});
  }
  record.free_slots = ready.free_slots;
  record.tasks_received = std::max(record.tasks_received, ready.tasks_received);
  record.last_seen = now;
}

// Credit left after the tasks still in transit to the worker.
std::int64_t ChunkLedger::available(const Worker& worker) const {
  const std::int64_t in_transit = worker.tasks_sent - worker.tasks_received;
  return std::max<std::int64_t>(0, worker.free_slots - std::max<std::int64_t>(0, in_transit));
}

std::optional<std::int64_t> ChunkLedger::next_waiting() {
  while (!queue_.empty()) {
    const std::int64_t chunk = queue_.front();
    queue_.pop_front();
    if (chunks_[chunk].state == State::waiting) return chunk;
  }
  return std::nullopt;
}

// The outstanding chunk sent longest ago, at least backup_after ago, that
// has one lease, held by another worker.
std::optional<std::int64_t> ChunkLedger::backup_for(const std::string& worker,
                                                    LedgerClock::time_point now) const {
  std::optional<std::int64_t> oldest;
  LedgerClock::time_point oldest_sent = LedgerClock::time_point::max();
  for (std::int64_t chunk : leased_) {
    const Chunk& record = chunks_[chunk];
    if (record.leases.size() != 1 || record.leases.front().worker == worker) continue;
    if (now - record.leases.front().sent < config_.backup_after) continue;
    if (record.leases.front().sent < oldest_sent) {
      oldest_sent = record.leases.front().sent;
      oldest = chunk;
    }
  }
  return oldest;
}

std::optional<Dispatch> ChunkLedger::next_dispatch(LedgerClock::time_point now) {
  auto best = workers_.end();
  for (auto it = workers_.begin(); it != workers_.end(); ++it) {
    if (available(it->second) > 0 &&
        (best == workers_.end() || available(it->second) > available(best->second))) {
      best = it;
    }
  }
  if (best == workers_.end()) return std::nullopt;

  bool backup = false;
  std::optional<std::int64_t> chunk = next_waiting();
  if (!chunk && config_.backups) {
    chunk = backup_for(best->first, now);
    backup = chunk.has_value();
  }
  if (!chunk) return std::nullopt;

  Chunk& record = chunks_[*chunk];
  if (record.attempts > 0 && !backup) ++redispatched_;
  if (backup) ++backups_;
  record.state = State::leased;
  record.attempts += 1;
  record.leases.push_back({best->first, record.attempts, now, now + config_.lease_time});
  leased_.insert(*chunk);
  best->second.leased_chunks.insert(*chunk);
  best->second.tasks_sent += 1;
  ++dispatched_;
  return Dispatch{best->first, best->second.name, *chunk, record.attempts, backup};
}

// Removes worker's lease on chunk; a chunk with no lease left waits again.
void ChunkLedger::release(std::int64_t chunk, const std::string& worker) {
  Chunk& record = chunks_[chunk];
  record.leases.erase(std::remove_if(record.leases.begin(), record.leases.end(),
                                     [&](const Lease& lease) { return lease.worker == worker; }),
                      record.leases.end());
  if (record.state == State::leased && record.leases.empty()) {
    record.state = State::waiting;
    leased_.erase(chunk);
  }
}

// Counts a failure of chunk; requeues it first in line or gives it up.
void ChunkLedger::fail(std::int64_t chunk, LedgerEvent event, std::vector<LedgerEvent>& events) {
  Chunk& record = chunks_[chunk];
  record.failures += 1;
  events.push_back(event);
  if (record.state != State::waiting) return;  // another lease still runs
  if (record.failures >= config_.max_failures) {
    record.state = State::done;
    ++done_;
    ++given_up_;
    events.push_back({LedgerEvent::Kind::given_up, event.worker_name, chunk, record.attempts,
                      event.reason});
    return;
  }
  queue_.push_front(chunk);
}

void ChunkLedger::drop_worker(const std::string& worker) {
  const auto found = workers_.find(worker);
  if (found == workers_.end()) return;
  for (std::int64_t chunk : found->second.leased_chunks) {
    release(chunk, worker);
    if (chunks_[chunk].state == State::waiting) queue_.push_front(chunk);
  }
  workers_.erase(found);
}

void ChunkLedger::mark_done(const std::vector<protocol::ChunkRange>& ranges) {
  for (const protocol::ChunkRange& range : ranges) {
    for (std::int64_t chunk = range.begin; chunk < std::min(range.end, chunk_count_); ++chunk) {
      Chunk& record = chunks_[chunk];
      if (record.state == State::done) continue;
      for (const Lease& lease : record.leases) {
        const auto holder = workers_.find(lease.worker);
        if (holder != workers_.end()) holder->second.leased_chunks.erase(chunk);
      }
      record.leases.clear();
      record.state = State::done;
      leased_.erase(chunk);
      ++done_;
    }
  }
}

std::vector<LedgerEvent> ChunkLedger::expire(LedgerClock::time_point now) {
  std::vector<LedgerEvent> events = take_events();

  for (auto it = workers_.begin(); it != workers_.end();) {
    if (now - it->second.last_seen <= config_.worker_timeout) {
      ++it;
      continue;
    }
    const std::string name = it->second.name;
    const std::set<std::int64_t> leased_chunks = it->second.leased_chunks;
    events.push_back({LedgerEvent::Kind::worker_lost, name, -1, 0,
                      std::to_string(leased_chunks.size()) + " chunks leased"});
    for (std::int64_t chunk : leased_chunks) {
      const std::int32_t attempt = chunks_[chunk].attempts;
      release(chunk, it->first);
      fail(chunk, {LedgerEvent::Kind::worker_lost, name, chunk, attempt,
                   "worker " + name + " went silent"}, events);
    }
    it = workers_.erase(it);
  }

  std::vector<std::pair<std::int64_t, Lease>> expired;
  for (std::int64_t chunk : leased_) {
    for (const Lease& lease : chunks_[chunk].leases) {
      if (lease.deadline < now) expired.emplace_back(chunk, lease);
    }
  }
  for (const auto& [chunk, lease] : expired) {
    const auto holder = workers_.find(lease.worker);
    const std::string name = holder != workers_.end() ? holder->second.name : "?";
    if (holder != workers_.end()) holder->second.leased_chunks.erase(chunk);
    release(chunk, lease.worker);
    fail(chunk, {LedgerEvent::Kind::lease_expired, name, chunk, lease.attempt,
                 "lease of worker " + name + " expired"}, events);
  }
  return events;
}

std::int64_t ChunkLedger::waiting() const noexcept {
  return chunk_count_ - done_ - static_cast<std::int64_t>(leased_.size());
}

std::vector<std::string> ChunkLedger::worker_ids() const {
  std::vector<std::string> ids;
  for (const auto& [id, unused] : workers_) ids.push_back(id);
  return ids;
}

std::vector<LedgerEvent> ChunkLedger::take_events() {
  std::vector<LedgerEvent> events;
  events.swap(events_);
  return events;
}

}  // namespace mkmap
