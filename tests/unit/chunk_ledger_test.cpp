// The ventilator's chunk ledger: credit, leases, re-dispatch, backups and
// giving up, with time passed in by the test.

#include <catch2/catch.hpp>
#include <set>

#include "pipeline/chunk_ledger.hpp"

using namespace mkmap;
using std::chrono::milliseconds;

namespace {

protocol::Ready ready(std::int32_t free_slots, std::int64_t received) {
  return protocol::Ready{"run", free_slots, received, 2};
}

LedgerConfig short_leases() {
  LedgerConfig config;
  config.lease_time = milliseconds(1000);
  config.worker_timeout = milliseconds(500);
  config.max_failures = 2;
  return config;
}

std::vector<Dispatch> drain(ChunkLedger& ledger, LedgerClock::time_point now) {
  std::vector<Dispatch> sent;
  while (auto next = ledger.next_dispatch(now)) sent.push_back(*next);
  return sent;
}

}  // namespace

TEST_CASE("ledger sends nothing without credit", "[ledger]") {
  ChunkLedger ledger(5, LedgerConfig{});
  CHECK_FALSE(ledger.next_dispatch(LedgerClock::now()).has_value());
}

TEST_CASE("ledger respects worker credit", "[ledger]") {
  const auto now = LedgerClock::now();
  ChunkLedger ledger(10, LedgerConfig{});
  ledger.update_worker("a", "worker-a", ready(3, 0), now);

  const std::vector<Dispatch> sent = drain(ledger, now);

  REQUIRE(sent.size() == 3);
  CHECK(sent[0].chunk == 0);
  CHECK(sent[2].chunk == 2);
  CHECK(sent[0].attempt == 1);
  CHECK(ledger.in_flight() == 3);
}

TEST_CASE("ledger subtracts tasks in transit", "[ledger]") {
  const auto now = LedgerClock::now();
  ChunkLedger ledger(10, LedgerConfig{});
  ledger.update_worker("a", "worker-a", ready(2, 0), now);
  REQUIRE(drain(ledger, now).size() == 2);

  // A heartbeat sent before the two tasks arrived still offers 2 slots.
  ledger.update_worker("a", "worker-a", ready(2, 0), now);
  CHECK(drain(ledger, now).empty());

  // Once both arrived and one finished, one slot is free.
  ledger.update_worker("a", "worker-a", ready(1, 2), now);
  CHECK(drain(ledger, now).size() == 1);
}

TEST_CASE("ledger shares chunks with a late worker", "[ledger]") {
  const auto now = LedgerClock::now();
  ChunkLedger ledger(20, LedgerConfig{});
  ledger.update_worker("a", "worker-a", ready(3, 0), now);
  REQUIRE(drain(ledger, now).size() == 3);

  ledger.update_worker("b", "worker-b", ready(3, 0), now);
  const std::vector<Dispatch> sent = drain(ledger, now);

  REQUIRE(sent.size() == 3);
  for (const Dispatch& dispatch : sent) CHECK(dispatch.worker == "b");
}

TEST_CASE("ledger re-dispatches chunks of a silent worker", "[ledger]") {
  const auto start = LedgerClock::now();
  ChunkLedger ledger(4, short_leases());
  ledger.update_worker("a", "worker-a", ready(2, 0), start);
  REQUIRE(drain(ledger, start).size() == 2);

  const auto later = start + milliseconds(800);
  ledger.update_worker("b", "worker-b", ready(4, 0), later);
  const std::vector<LedgerEvent> events = ledger.expire(later);

  bool lost = false;
  for (const LedgerEvent& event : events) {
    lost = lost || (event.kind == LedgerEvent::Kind::worker_lost && event.chunk < 0);
  }
  CHECK(lost);
  const std::vector<Dispatch> sent = drain(ledger, later);
  std::set<std::int64_t> chunks;
  for (const Dispatch& dispatch : sent) chunks.insert(dispatch.chunk);
  CHECK(chunks == std::set<std::int64_t>{0, 1, 2, 3});
  CHECK(ledger.redispatched() == 2);
}

TEST_CASE("ledger re-dispatches an expired lease", "[ledger]") {
  const auto start = LedgerClock::now();
  ChunkLedger ledger(1, short_leases());
  ledger.update_worker("a", "worker-a", ready(1, 0), start);
  REQUIRE(drain(ledger, start).size() == 1);

  const auto later = start + milliseconds(1200);
  ledger.update_worker("a", "worker-a", ready(1, 1), later);
  ledger.expire(later);
  const std::vector<Dispatch> sent = drain(ledger, later);

  REQUIRE(sent.size() == 1);
  CHECK(sent[0].chunk == 0);
  CHECK(sent[0].attempt == 2);
}

TEST_CASE("ledger gives up a chunk that keeps failing", "[ledger]") {
  auto now = LedgerClock::now();
  ChunkLedger ledger(1, short_leases());
  std::vector<LedgerEvent> events;
  for (int attempt = 0; attempt < 2; ++attempt) {
    ledger.update_worker("a", "worker-a", ready(1, attempt), now);
    REQUIRE(drain(ledger, now).size() == 1);
    now += milliseconds(1200);
    ledger.update_worker("a", "worker-a", ready(1, attempt + 1), now);
    events = ledger.expire(now);
  }

  bool given_up = false;
  for (const LedgerEvent& event : events) {
    given_up = given_up || (event.kind == LedgerEvent::Kind::given_up && event.chunk == 0);
  }
  CHECK(given_up);
  CHECK(ledger.given_up() == 1);
  CHECK(ledger.all_done());
  CHECK(drain(ledger, now).empty());
}

TEST_CASE("ledger sends backups once nothing waits", "[ledger]") {
  const auto now = LedgerClock::now();
  ChunkLedger ledger(2, LedgerConfig{});
  ledger.update_worker("a", "worker-a", ready(2, 0), now);
  REQUIRE(drain(ledger, now).size() == 2);

  // A chunk out for less than backup_after may be done already.
  ledger.update_worker("b", "worker-b", ready(1, 0), now + milliseconds(10));
  CHECK(drain(ledger, now + milliseconds(10)).empty());

  const auto later = now + LedgerConfig{}.backup_after + milliseconds(10);
  ledger.update_worker("b", "worker-b", ready(1, 0), later);
  const std::vector<Dispatch> sent = drain(ledger, later);

  REQUIRE(sent.size() == 1);
  CHECK(sent[0].backup);
  CHECK(sent[0].worker == "b");
  CHECK(sent[0].attempt == 2);
}

TEST_CASE("ledger marks reported chunks done", "[ledger]") {
  const auto now = LedgerClock::now();
  ChunkLedger ledger(6, LedgerConfig{});
  ledger.update_worker("a", "worker-a", ready(6, 0), now);
  REQUIRE(drain(ledger, now).size() == 6);

  ledger.mark_done({{0, 2}, {4, 6}});
  CHECK(ledger.done() == 4);
  CHECK(ledger.in_flight() == 2);
  ledger.mark_done({{0, 6}});
  CHECK(ledger.all_done());
  CHECK(ledger.in_flight() == 0);
}

TEST_CASE("ledger requeues chunks of a dropped worker", "[ledger]") {
  const auto now = LedgerClock::now();
  ChunkLedger ledger(3, LedgerConfig{});
  ledger.update_worker("a", "worker-a", ready(3, 0), now);
  REQUIRE(drain(ledger, now).size() == 3);

  ledger.drop_worker("a");
  CHECK(ledger.waiting() == 3);
  CHECK(ledger.workers() == 0);
}
