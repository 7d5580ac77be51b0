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

constexpr std::uint32_t kVersion = 1;

/// Upper bounds a decoder enforces on untrusted input.
constexpr std::size_t kMaxChunkPoints = 65536;
constexpr std::size_t kMaxCoverages = 4096;
constexpr std::size_t kMaxTextBytes = 1 << 20;  ///< model text, reasons [bytes]
constexpr std::size_t kMaxMessageBytes = 64 << 20;

enum class MessageType : std::uint8_t { task = 1, result = 2, run = 3, status = 4 };

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
  /// Points per chunk; chunk k holds points [k * size, (k + 1) * size).
  std::int64_t chunk_size = 1;
};

/// The sink's periodic status broadcast.
struct Status {
  std::string run_id;
  std::int64_t done_points = 0;
  std::int64_t total_points = 0;
  bool complete = false;
};

std::string encode(const Task& task);
std::string encode(const Result& result);
std::string encode(const Run& run);
std::string encode(const Status& status);

/// Returns the type of an encoded message after checking its header.
/// Throws: ProtocolError when the bytes are no mkmap message of this version.
MessageType peek_type(const void* data, std::size_t size);

/// Decoders; each requires the whole buffer to be one message of its type.
/// Throws: ProtocolError naming what is wrong.
Task decode_task(const void* data, std::size_t size);
Result decode_result(const void* data, std::size_t size);
Run decode_run(const void* data, std::size_t size);
Status decode_status(const void* data, std::size_t size);

/// Returns the number of chunks of chunk_size points that cover total points.
std::int64_t chunk_count(std::int64_t total_points, std::int64_t chunk_size);

/// Returns a new random run id (16 hex digits).
std::string new_run_id();

}  // namespace mkmap::protocol
