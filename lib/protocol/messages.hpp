#pragma once
// Wire messages between ventilator, workers and sink, encoded with msgpack.
//
// Every message is a msgpack array that starts with
//   [protocol version, message type, run id, ...]
// and is self-contained: a task carries the model text and the axes, so a
// worker that joins mid-run needs nothing else.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "kinetics/point_solver.hpp"

namespace mkmap::protocol {

constexpr std::uint32_t kVersion = 2;

/// Upper bounds a decoder enforces on untrusted input.
constexpr std::size_t kMaxChunkPoints = 65536;
constexpr std::size_t kMaxCoverages = 4096;
constexpr std::size_t kMaxTextBytes = 1 << 20;  ///< model text, reasons [bytes]
constexpr std::size_t kMaxMessageBytes = 64 << 20;

enum class MessageType : std::uint8_t {
  task = 1,     ///< ventilator -> worker
  result = 2,   ///< worker -> sink
  run = 3,      ///< ventilator -> sink
  status = 4,   ///< sink -> everyone
  ready = 5,    ///< worker -> ventilator: free slots, also a heartbeat
  give_up = 6,  ///< ventilator -> sink: a chunk that keeps failing
  dispatch_stats = 7,  ///< ventilator -> sink: counts for the progress line
};

/// Most ranges of done chunks one status message carries; a more
/// fragmented done set is sent in part and completed by later messages.
constexpr std::size_t kMaxDoneRanges = kMaxChunkPoints / 2;

/// A message that is malformed, of another protocol version or type.
class ProtocolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A chunk of grid points for a worker to solve.
struct Task {
  std::string run_id;
  std::int64_t chunk_id = 0;
  std::int32_t attempt = 1;
  std::string model_yaml;
  /// Axis specs "VARIABLE:FROM:TO:POINTS:lin|log" as parse_axis_override reads.
  std::string x_axis;
  std::string y_axis;
  std::vector<GridPoint> points;
};

/// The solved points of one chunk.
struct Result {
  std::string run_id;
  std::int64_t chunk_id = 0;
  std::int32_t attempt = 1;
  /// Solver threads of the sending worker, for the progress census.
  std::int32_t worker_threads = 0;
  std::vector<PointResult> points;
};

/// A run announcement from the ventilator to the sink.
struct Run {
  std::string run_id;
  std::string model_yaml;
  std::string model_source;
  std::string x_axis;
  std::string y_axis;
  /// Points per chunk. Chunk k contains points [k * size, (k + 1) * size).
  std::int64_t chunk_size = 1;
};

/// A half-open range [begin, end) of chunk ids.
struct ChunkRange {
  std::int64_t begin = 0;
  std::int64_t end = 0;
};

/// The sink's periodic status broadcast.
struct Status {
  std::string run_id;
  std::int64_t done_points = 0;
  std::int64_t total_points = 0;
  bool complete = false;
  /// Chunks the sink has accepted or recorded as given up, ascending.
  std::vector<ChunkRange> done_chunks;
};

/// The ventilator's counts, sent to the sink once a second so that the
/// progress line shows them.
struct DispatchStats {
  std::string run_id;
  std::int64_t in_flight = 0;      ///< chunks leased and not done
  std::int64_t redispatched = 0;   ///< chunks sent again after a failure
  std::int64_t backups = 0;        ///< chunks sent again as backups
  std::int64_t given_up = 0;       ///< chunks given up
};

/// A worker's offer of work capacity, sent at start, after every finished
/// chunk and once a second as a heartbeat.
struct Ready {
  /// The run of the worker's latest task, empty before its first task.
  std::string run_id;
  /// Chunks the worker can take now: solver threads plus prefetch minus
  /// the chunks it holds.
  std::int32_t free_slots = 0;
  /// Tasks the worker has received so far; the ventilator subtracts the
  /// tasks still in transit from free_slots.
  std::int64_t tasks_received = 0;
  std::int32_t threads = 0;
};

/// The ventilator gives up a chunk after repeated failures; the sink
/// records its points as failed with the reason.
struct GiveUp {
  std::string run_id;
  std::int64_t chunk_id = 0;
  std::int32_t attempts = 0;
  std::string reason;
};

std::string encode(const Task& task);
std::string encode(const Result& result);
std::string encode(const Run& run);
std::string encode(const Status& status);
std::string encode(const Ready& ready);
std::string encode(const GiveUp& give_up);
std::string encode(const DispatchStats& stats);

/// Returns the type of an encoded message after checking its header.
/// Throws: ProtocolError when the bytes are no mkmap message of this version.
MessageType peek_type(const void* data, std::size_t size);

/// Decoders; each requires the whole buffer to be one message of its type.
/// Throws: ProtocolError naming what is wrong.
Task decode_task(const void* data, std::size_t size);
Result decode_result(const void* data, std::size_t size);
Run decode_run(const void* data, std::size_t size);
Status decode_status(const void* data, std::size_t size);
Ready decode_ready(const void* data, std::size_t size);
GiveUp decode_give_up(const void* data, std::size_t size);
DispatchStats decode_dispatch_stats(const void* data, std::size_t size);

/// Returns the number of chunks of chunk_size points that cover total points.
std::int64_t chunk_count(std::int64_t total_points, std::int64_t chunk_size);


}  // namespace mkmap::protocol
