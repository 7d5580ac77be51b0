#include "protocol/messages.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <msgpack.hpp>
#include <new>

namespace mkmap::protocol {
namespace {

using Packer = msgpack::packer<msgpack::sbuffer>;

// Nesting of the deepest message: result -> points -> point -> coverages.
constexpr std::size_t kMaxDepth = 4;
// Fields of the common header: version, type, run id.
constexpr std::size_t kHeaderFields = 3;

void pack_header(Packer& packer, MessageType type, const std::string& run_id,
                 std::size_t fields) {
  packer.pack_array(static_cast<std::uint32_t>(kHeaderFields + fields));
  packer.pack(kVersion);
  packer.pack(static_cast<std::uint8_t>(type));
  packer.pack(run_id);
}

std::string to_string(const msgpack::sbuffer& buffer) {
  return std::string(buffer.data(), buffer.size());
}

// Unpacks one message and checks that nothing follows it.
msgpack::object_handle unpack_whole(const void* data, std::size_t size) {
  if (size > kMaxMessageBytes) {
    throw ProtocolError("message of " + std::to_string(size) + " bytes exceeds the limit of " +
                        std::to_string(kMaxMessageBytes));
  }
  const msgpack::unpack_limit limit(kMaxChunkPoints, 0, kMaxTextBytes, 0, 0, kMaxDepth);
  std::size_t offset = 0;
  try {
    msgpack::object_handle handle = msgpack::unpack(static_cast<const char*>(data), size, offset,
                                                    nullptr, nullptr, limit);
    if (offset != size) {
      throw ProtocolError(std::to_string(size - offset) + " trailing bytes after the message");
    }
    return handle;
  } catch (const msgpack::unpack_error& error) {
    throw ProtocolError(std::string("malformed msgpack: ") + error.what());
  } catch (const std::bad_alloc&) {
    throw ProtocolError("message needs more memory than allowed");
  }
}

// Read-only view of a msgpack array with checked element access.
class Fields {
 public:
  Fields(const msgpack::object& object, const char* what) : what_(what) {
    if (object.type != msgpack::type::ARRAY) {
      throw ProtocolError(std::string(what) + " is not an array");
    }
    array_ = object.via.array;
  }

  std::size_t size() const { return array_.size; }

  void expect_size(std::size_t expected) const {
    if (array_.size != expected) {
      throw ProtocolError(std::string(what_) + " has " + std::to_string(array_.size) +
                          " fields, expected " + std::to_string(expected));
    }
  }

  const msgpack::object& at(std::size_t i) const { return array_.ptr[i]; }

  std::int64_t integer(std::size_t i, std::int64_t min, std::int64_t max) const {
    const msgpack::object& object = at(i);
    std::int64_t value = 0;
    if (object.type == msgpack::type::POSITIVE_INTEGER) {
      if (object.via.u64 > static_cast<std::uint64_t>(max)) out_of_range(i);
      value = static_cast<std::int64_t>(object.via.u64);
    } else if (object.type == msgpack::type::NEGATIVE_INTEGER) {
      value = object.via.i64;
    } else {
      wrong_type(i, "an integer");
    }
    if (value < min || value > max) out_of_range(i);
    return value;
  }

  double number(std::size_t i) const {
    const msgpack::object& object = at(i);
    double value = 0.0;
    if (object.type == msgpack::type::FLOAT64 || object.type == msgpack::type::FLOAT32) {
      value = object.via.f64;
    } else if (object.type == msgpack::type::POSITIVE_INTEGER) {
      value = static_cast<double>(object.via.u64);
    } else if (object.type == msgpack::type::NEGATIVE_INTEGER) {
      value = static_cast<double>(object.via.i64);
    } else {
      wrong_type(i, "a number");
    }
    if (!std::isfinite(value)) {
      throw ProtocolError(std::string(what_) + " field " + std::to_string(i) + " is not finite");
    }
    return value;
  }

  bool boolean(std::size_t i) const {
    if (at(i).type != msgpack::type::BOOLEAN) wrong_type(i, "a boolean");
    return at(i).via.boolean;
  }

  std::string text(std::size_t i) const {
    if (at(i).type != msgpack::type::STR) wrong_type(i, "a string");
    return std::string(at(i).via.str.ptr, at(i).via.str.size);
  }

 private:
  [[noreturn]] void wrong_type(std::size_t i, const char* expected) const {
    throw ProtocolError(std::string(what_) + " field " + std::to_string(i) + " is not " +
                        expected);
  }
  [[noreturn]] void out_of_range(std::size_t i) const {
    throw ProtocolError(std::string(what_) + " field " + std::to_string(i) + " is out of range");
  }

  const char* what_;
  msgpack::object_array array_{};
};

constexpr std::int64_t kMaxInt64 = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMaxInt32 = std::numeric_limits<std::int32_t>::max();

// Checks version and type; returns the message's fields.
Fields open_message(const msgpack::object& root, MessageType expected, std::size_t fields) {
  Fields message(root, "message");
  if (message.size() < kHeaderFields) {
    throw ProtocolError("message has no header");
  }
  const auto version = message.integer(0, 0, kMaxInt32);
  if (version != kVersion) {
    throw ProtocolError("protocol version " + std::to_string(version) + ", expected " +
                        std::to_string(kVersion));
  }
  const auto type = message.integer(1, 0, 255);
  if (type != static_cast<std::int64_t>(expected)) {
    throw ProtocolError("message type " + std::to_string(type) + ", expected " +
                        std::to_string(static_cast<int>(expected)));
  }
  message.expect_size(kHeaderFields + fields);
  return message;
}

// Fields of a result point on the wire.
constexpr std::size_t kPointFields = 14;
// Wire value of an undefined reversibility (rf = 0): the decoders reject
// non-finite numbers, so NaN travels as this value.
constexpr double kUndefinedReversibility = -1.0;

void pack_point(Packer& packer, const PointResult& point) {
  packer.pack_array(kPointFields);
  packer.pack(point.index);
  packer.pack(static_cast<std::uint8_t>(point.status == PointStatus::converged ? 1 : 0));
  packer.pack(point.tof);
  packer.pack(point.residual);
  packer.pack(point.site_sum_error);
  packer.pack(point.balance_error);
  packer.pack(point.iterations);
  packer.pack(point.solve_time_s);
  packer.pack(static_cast<std::uint8_t>(point.precision == Precision::extended_precision ? 1 : 0));
  packer.pack(point.branch_tofs);
  packer.pack(point.coverages);
  packer.pack(point.net_rates);
  packer.pack_array(static_cast<std::uint32_t>(point.reversibilities.size()));
  for (double value : point.reversibilities) {
    packer.pack(std::isnan(value) ? kUndefinedReversibility : value);
  }
  packer.pack(point.reason);
}

std::vector<double> unpack_numbers(const msgpack::object& object, const char* what) {
  Fields values(object, what);
  if (values.size() > kMaxCoverages) {
    throw ProtocolError(std::string("too many ") + what);
  }
  std::vector<double> numbers;
  for (std::size_t i = 0; i < values.size(); ++i) numbers.push_back(values.number(i));
  return numbers;
}

PointResult unpack_point(const msgpack::object& object) {
  Fields fields(object, "result point");
  fields.expect_size(kPointFields);
  PointResult point;
  point.index = fields.integer(0, 0, kMaxInt64);
  point.status = fields.integer(1, 0, 1) == 1 ? PointStatus::converged : PointStatus::failed;
  point.tof = fields.number(2);
  point.residual = fields.number(3);
  point.site_sum_error = fields.number(4);
  point.balance_error = fields.number(5);
  point.iterations = static_cast<int>(fields.integer(6, 0, kMaxInt32));
  point.solve_time_s = fields.number(7);
  point.precision = fields.integer(8, 0, 1) == 1 ? Precision::extended_precision
                                                 : Precision::double_precision;
  point.branch_tofs = unpack_numbers(fields.at(9), "branch TOFs");
  point.coverages = unpack_numbers(fields.at(10), "coverages");
  point.net_rates = unpack_numbers(fields.at(11), "net rates");
  point.reversibilities = unpack_numbers(fields.at(12), "reversibilities");
  for (double& value : point.reversibilities) {
    if (value == kUndefinedReversibility) {
      value = std::numeric_limits<double>::quiet_NaN();
    } else if (value < 0.0) {
      throw ProtocolError("result point has a negative reversibility");
    }
  }
  point.reason = fields.text(13);
  return point;
}

}  // namespace

std::string encode(const Task& task) {
  msgpack::sbuffer buffer;
  Packer packer(buffer);
  pack_header(packer, MessageType::task, task.run_id, 6);
  packer.pack(task.chunk_id);
  packer.pack(task.attempt);
  packer.pack(task.model_yaml);
  packer.pack(task.x_axis);
  packer.pack(task.y_axis);
  packer.pack_array(static_cast<std::uint32_t>(task.points.size()));
  for (const GridPoint& point : task.points) {
    packer.pack_array(3);
    packer.pack(point.index);
    packer.pack(point.x);
    packer.pack(point.y);
  }
  return to_string(buffer);
}

std::string encode(const Result& result) {
  msgpack::sbuffer buffer;
  Packer packer(buffer);
  pack_header(packer, MessageType::result, result.run_id, 4);
  packer.pack(result.chunk_id);
  packer.pack(result.attempt);
  packer.pack(result.worker_threads);
  packer.pack_array(static_cast<std::uint32_t>(result.points.size()));
  for (const PointResult& point : result.points) pack_point(packer, point);
  return to_string(buffer);
}

std::string encode(const Run& run) {
  msgpack::sbuffer buffer;
  Packer packer(buffer);
  pack_header(packer, MessageType::run, run.run_id, 5);
  packer.pack(run.model_yaml);
  packer.pack(run.model_source);
  packer.pack(run.x_axis);
  packer.pack(run.y_axis);
  packer.pack(run.chunk_size);
  return to_string(buffer);
}

std::string encode(const Status& status) {
  msgpack::sbuffer buffer;
  Packer packer(buffer);
  pack_header(packer, MessageType::status, status.run_id, 4);
  packer.pack(status.done_points);
  packer.pack(status.total_points);
  packer.pack(status.complete);
  const std::size_t ranges = std::min(status.done_chunks.size(), kMaxDoneRanges);
  packer.pack_array(static_cast<std::uint32_t>(2 * ranges));
  for (std::size_t i = 0; i < ranges; ++i) {
    packer.pack(status.done_chunks[i].begin);
    packer.pack(status.done_chunks[i].end);
  }
  return to_string(buffer);
}

std::string encode(const Ready& ready) {
  msgpack::sbuffer buffer;
  Packer packer(buffer);
  pack_header(packer, MessageType::ready, ready.run_id, 3);
  packer.pack(ready.free_slots);
  packer.pack(ready.tasks_received);
  packer.pack(ready.threads);
  return to_string(buffer);
}

std::string encode(const GiveUp& give_up) {
  msgpack::sbuffer buffer;
  Packer packer(buffer);
  pack_header(packer, MessageType::give_up, give_up.run_id, 3);
  packer.pack(give_up.chunk_id);
  packer.pack(give_up.attempts);
  packer.pack(give_up.reason);
  return to_string(buffer);
}

std::string encode(const DispatchStats& stats) {
  msgpack::sbuffer buffer;
  Packer packer(buffer);
  pack_header(packer, MessageType::dispatch_stats, stats.run_id, 4);
  packer.pack(stats.in_flight);
  packer.pack(stats.redispatched);
  packer.pack(stats.backups);
  packer.pack(stats.given_up);
  return to_string(buffer);
}

MessageType peek_type(const void* data, std::size_t size) {
  const msgpack::object_handle handle = unpack_whole(data, size);
  Fields message(handle.get(), "message");
  if (message.size() < kHeaderFields) throw ProtocolError("message has no header");
  const auto version = message.integer(0, 0, kMaxInt32);
  if (version != kVersion) {
    throw ProtocolError("protocol version " + std::to_string(version) + ", expected " +
                        std::to_string(kVersion));
  }
  const auto type =
      message.integer(1, 1, static_cast<std::int64_t>(MessageType::dispatch_stats));
  return static_cast<MessageType>(type);
}

Task decode_task(const void* data, std::size_t size) {
  const msgpack::object_handle handle = unpack_whole(data, size);
  const Fields message = open_message(handle.get(), MessageType::task, 6);
  Task task;
  task.run_id = message.text(2);
  task.chunk_id = message.integer(3, 0, kMaxInt64);
  task.attempt = static_cast<std::int32_t>(message.integer(4, 1, kMaxInt32));
  task.model_yaml = message.text(5);
  task.x_axis = message.text(6);
  task.y_axis = message.text(7);
  const Fields points(message.at(8), "task points");
  for (std::size_t i = 0; i < points.size(); ++i) {
    Fields point(points.at(i), "task point");
    point.expect_size(3);
    task.points.push_back({point.integer(0, 0, kMaxInt64), point.number(1), point.number(2)});
  }
  return task;
}

Result decode_result(const void* data, std::size_t size) {
  const msgpack::object_handle handle = unpack_whole(data, size);
  const Fields message = open_message(handle.get(), MessageType::result, 4);
  Result result;
  result.run_id = message.text(2);
  result.chunk_id = message.integer(3, 0, kMaxInt64);
  result.attempt = static_cast<std::int32_t>(message.integer(4, 1, kMaxInt32));
  result.worker_threads = static_cast<std::int32_t>(message.integer(5, 0, kMaxInt32));
  const Fields points(message.at(6), "result points");
  for (std::size_t i = 0; i < points.size(); ++i) {
    result.points.push_back(unpack_point(points.at(i)));
  }
  return result;
}

Run decode_run(const void* data, std::size_t size) {
  const msgpack::object_handle handle = unpack_whole(data, size);
  const Fields message = open_message(handle.get(), MessageType::run, 5);
  Run run;
  run.run_id = message.text(2);
  run.model_yaml = message.text(3);
  run.model_source = message.text(4);
  run.x_axis = message.text(5);
  run.y_axis = message.text(6);
  run.chunk_size = message.integer(7, 1, static_cast<std::int64_t>(kMaxChunkPoints));
  return run;
}

Status decode_status(const void* data, std::size_t size) {
  const msgpack::object_handle handle = unpack_whole(data, size);
  const Fields message = open_message(handle.get(), MessageType::status, 4);
  Status status;
  status.run_id = message.text(2);
  status.done_points = message.integer(3, 0, kMaxInt64);
  status.total_points = message.integer(4, 0, kMaxInt64);
  status.complete = message.boolean(5);
  const Fields ranges(message.at(6), "done chunk ranges");
  if (ranges.size() % 2 != 0) throw ProtocolError("done chunk ranges have an odd length");
  std::int64_t previous_end = 0;
  for (std::size_t i = 0; i < ranges.size(); i += 2) {
    const ChunkRange range{ranges.integer(i, 0, kMaxInt64), ranges.integer(i + 1, 0, kMaxInt64)};
    if (range.begin < previous_end || range.end <= range.begin) {
      throw ProtocolError("done chunk ranges are not ascending and disjoint");
    }
    previous_end = range.end;
    status.done_chunks.push_back(range);
  }
  return status;
}

Ready decode_ready(const void* data, std::size_t size) {
  const msgpack::object_handle handle = unpack_whole(data, size);
  const Fields message = open_message(handle.get(), MessageType::ready, 3);
  Ready ready;
  ready.run_id = message.text(2);
  ready.free_slots = static_cast<std::int32_t>(message.integer(3, 0, kMaxInt32));
  ready.tasks_received = message.integer(4, 0, kMaxInt64);
  ready.threads = static_cast<std::int32_t>(message.integer(5, 0, kMaxInt32));
  return ready;
}

GiveUp decode_give_up(const void* data, std::size_t size) {
  const msgpack::object_handle handle = unpack_whole(data, size);
  const Fields message = open_message(handle.get(), MessageType::give_up, 3);
  GiveUp give_up;
  give_up.run_id = message.text(2);
  give_up.chunk_id = message.integer(3, 0, kMaxInt64);
  give_up.attempts = static_cast<std::int32_t>(message.integer(4, 1, kMaxInt32));
  give_up.reason = message.text(5);
  return give_up;
}

DispatchStats decode_dispatch_stats(const void* data, std::size_t size) {
  const msgpack::object_handle handle = unpack_whole(data, size);
  const Fields message = open_message(handle.get(), MessageType::dispatch_stats, 4);
  DispatchStats stats;
  stats.run_id = message.text(2);
  stats.in_flight = message.integer(3, 0, kMaxInt64);
  stats.redispatched = message.integer(4, 0, kMaxInt64);
  stats.backups = message.integer(5, 0, kMaxInt64);
  stats.given_up = message.integer(6, 0, kMaxInt64);
  return stats;
}

std::int64_t chunk_count(std::int64_t total_points, std::int64_t chunk_size) {
  return (total_points + chunk_size - 1) / chunk_size;
}

}  // namespace mkmap::protocol
