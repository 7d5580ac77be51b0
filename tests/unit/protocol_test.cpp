// Wire messages and run plans: round trips, rejection of malformed or
// hostile input, and the chunking of the default 10 x 10 map.

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <msgpack.hpp>
#include <random>
#include <string>
#include <vector>

#include "kinetics/point_solver.hpp"
#include "model/parser.hpp"
#include "model/scan.hpp"
#include "protocol/messages.hpp"
#include "protocol/run_plan.hpp"

using Catch::Matchers::Contains;
using mkmap::AxisSpacing;
using mkmap::AxisVariable;
using mkmap::GridPoint;
using mkmap::Model;
using mkmap::ModelError;
using mkmap::PointResult;
using mkmap::PointStatus;
using mkmap::RunPlan;
using mkmap::ScanAxis;
using mkmap::protocol::MessageType;
using mkmap::protocol::ProtocolError;

namespace protocol = mkmap::protocol;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Bit pattern of a double, so that checks tell -0.0 from 0.0 and see every
// lost digit.
std::uint64_t bits(double value) {
  std::uint64_t pattern = 0;
  std::memcpy(&pattern, &value, sizeof pattern);
  return pattern;
}

// ---------------------------------------------------------------------------
// Hand-built msgpack messages, one writer per field, so that a test can put
// a wrong value into exactly one field of an otherwise valid message.

using Packer = msgpack::packer<msgpack::sbuffer>;
using Field = std::function<void(msgpack::sbuffer&)>;

// msgpack-c 4.1 packs a double or float with an integral value as an
// integer, so float32() and float64() write the float bytes themselves.
template <typename T>
Field value(T item) {
  return [item](msgpack::sbuffer& buffer) { Packer(buffer).pack(item); };
}

Field text(const std::string& item) { return value(item); }

Field nil() {
  return [](msgpack::sbuffer& buffer) { Packer(buffer).pack_nil(); };
}

// Writes a msgpack float of the given format byte with the big-endian bits
// of item.
template <typename Float, typename Bits>
Field raw_float(unsigned char format, Float item) {
  return [format, item](msgpack::sbuffer& buffer) {
    Bits pattern = 0;
    std::memcpy(&pattern, &item, sizeof pattern);
    char bytes[1 + sizeof pattern];
    bytes[0] = static_cast<char>(format);
    for (std::size_t i = 0; i < sizeof pattern; ++i) {
      bytes[1 + i] = static_cast<char>((pattern >> (8 * (sizeof pattern - 1 - i))) & 0xFF);
    }
    buffer.write(bytes, sizeof bytes);
  };
}

Field float32(float item) { return raw_float<float, std::uint32_t>(0xca, item); }

Field float64(double item) { return raw_float<double, std::uint64_t>(0xcb, item); }

Field array(std::vector<Field> elements) {
  return [elements](msgpack::sbuffer& buffer) {
    Packer(buffer).pack_array(static_cast<std::uint32_t>(elements.size()));
    for (const Field& element : elements) element(buffer);
  };
}

Field empty_map() {
  return [](msgpack::sbuffer& buffer) { Packer(buffer).pack_map(0); };
}

Field binary(const std::string& bytes) {
  return [bytes](msgpack::sbuffer& buffer) {
    Packer packer(buffer);
    packer.pack_bin(static_cast<std::uint32_t>(bytes.size()));
    packer.pack_bin_body(bytes.data(), static_cast<std::uint32_t>(bytes.size()));
  };
}

std::string pack(const Field& root) {
  msgpack::sbuffer buffer;
  root(buffer);
  return std::string(buffer.data(), buffer.size());
}

std::string pack_message(const std::vector<Field>& fields) { return pack(array(fields)); }

std::vector<Field> replaced(std::vector<Field> fields, std::size_t index, Field replacement) {
  fields.at(index) = std::move(replacement);
  return fields;
}

std::vector<Field> appended(std::vector<Field> fields, Field extra) {
  fields.push_back(std::move(extra));
  return fields;
}

std::vector<Field> without_last(std::vector<Field> fields) {
  fields.pop_back();
  return fields;
}

std::uint8_t type_code(MessageType type) { return static_cast<std::uint8_t>(type); }

// Field positions of each message, after the header (version, type, run id).
constexpr std::size_t kVersionField = 0;
constexpr std::size_t kTypeField = 1;
constexpr std::size_t kRunIdField = 2;
constexpr std::size_t kTaskChunkField = 3;
constexpr std::size_t kTaskAttemptField = 4;
constexpr std::size_t kTaskModelField = 5;
constexpr std::size_t kTaskXAxisField = 6;
constexpr std::size_t kTaskYAxisField = 7;
constexpr std::size_t kTaskPointsField = 8;
constexpr std::size_t kResultChunkField = 3;
constexpr std::size_t kResultAttemptField = 4;
constexpr std::size_t kResultThreadsField = 5;
constexpr std::size_t kResultPointsField = 6;
constexpr std::size_t kRunModelField = 3;
constexpr std::size_t kRunSourceField = 4;
constexpr std::size_t kRunXAxisField = 5;
constexpr std::size_t kRunChunkSizeField = 7;
constexpr std::size_t kStatusDoneField = 3;
constexpr std::size_t kStatusTotalField = 4;
constexpr std::size_t kStatusCompleteField = 5;
constexpr std::size_t kStatusRangesField = 6;
constexpr std::size_t kReadySlotsField = 3;
constexpr std::size_t kReadyReceivedField = 4;
constexpr std::size_t kReadyThreadsField = 5;
constexpr std::size_t kGiveUpChunkField = 3;
constexpr std::size_t kGiveUpAttemptsField = 4;
constexpr std::size_t kGiveUpReasonField = 5;

// Fields of one task point: index, x, y.
std::vector<Field> task_point_fields() {
  return {value(std::int64_t{5}), value(0.5), value(0.25)};
}

std::vector<Field> task_fields_with_point(std::vector<Field> point) {
  return {value(protocol::kVersion), value(type_code(MessageType::task)), text("run-1"),
          value(std::int64_t{2}),    value(std::int32_t{1}),             text("model"),
          text("CO:0:1:2:lin"),      text("O2:0:1:2:lin"),               array({array(point)})};
}

std::vector<Field> task_fields() { return task_fields_with_point(task_point_fields()); }

// Fields of one result point: index, status, TOF, residual, site-sum error,
// balance error, iterations, solve time, precision, branch TOFs, coverages,
// net rates, reversibilities (-1 for undefined), reason.
std::vector<Field> result_point_fields() {
  return {value(std::int64_t{0}),
          value(std::uint8_t{1}),
          value(2.5e-3),
          value(1e-12),
          value(1e-15),
          value(1e-14),
          value(12),
          value(0.01),
          value(std::uint8_t{0}),
          array({value(2.5e-3)}),
          array({value(0.3), value(0.6), value(0.1)}),
          array({value(2.5e-3), value(1.25e-3), value(2.5e-3)}),
          array({value(1e-9), value(-1.0), value(0.5)}),
          text("")};
}

constexpr std::size_t kPointStatusField = 1;
constexpr std::size_t kPointTofField = 2;
constexpr std::size_t kPointResidualField = 3;
constexpr std::size_t kPointSiteSumField = 4;
constexpr std::size_t kPointBalanceField = 5;
constexpr std::size_t kPointIterationsField = 6;
constexpr std::size_t kPointTimeField = 7;
constexpr std::size_t kPointPrecisionField = 8;
constexpr std::size_t kPointBranchesField = 9;
constexpr std::size_t kPointCoveragesField = 10;
constexpr std::size_t kPointNetRatesField = 11;
constexpr std::size_t kPointReversibilitiesField = 12;
constexpr std::size_t kPointReasonField = 13;

std::vector<Field> result_fields_with_point(std::vector<Field> point) {
  return {value(protocol::kVersion), value(type_code(MessageType::result)), text("run-1"),
          value(std::int64_t{0}),    value(std::int32_t{1}),               value(4),
          array({array(point)})};
}

std::vector<Field> result_fields() { return result_fields_with_point(result_point_fields()); }

std::vector<Field> run_fields() {
  return {value(protocol::kVersion), value(type_code(MessageType::run)), text("run-1"),
          text("model"),             text("source"),                     text("CO:0:1:2:lin"),
          text("O2:0:1:2:lin"),      value(std::int64_t{4})};
}

std::vector<Field> status_fields() {
  return {value(protocol::kVersion), value(type_code(MessageType::status)), text("run-1"),
          value(std::int64_t{10}),   value(std::int64_t{100}),              value(false),
          array({value(0), value(2), value(5), value(6)})};
}

std::vector<Field> ready_fields() {
  return {value(protocol::kVersion), value(type_code(MessageType::ready)), text("run-1"),
          value(3), value(std::int64_t{7}), value(2)};
}

std::vector<Field> give_up_fields() {
  return {value(protocol::kVersion), value(type_code(MessageType::give_up)), text("run-1"),
          value(std::int64_t{4}), value(3), text("worker w1 went silent")};
}

// A message built to be invalid, with what is wrong with it.
struct RejectCase {
  std::string what;
  std::string bytes;
};

using Decoder = std::function<void(const void*, std::size_t)>;

struct NamedDecoder {
  std::string name;
  Decoder decode;
};

std::vector<NamedDecoder> all_decoders() {
  return {
      {"peek_type", [](const void* data, std::size_t size) { protocol::peek_type(data, size); }},
      {"decode_task", [](const void* data, std::size_t size) { protocol::decode_task(data, size); }},
      {"decode_result",
       [](const void* data, std::size_t size) { protocol::decode_result(data, size); }},
      {"decode_run", [](const void* data, std::size_t size) { protocol::decode_run(data, size); }},
      {"decode_status",
       [](const void* data, std::size_t size) { protocol::decode_status(data, size); }},
  };
}

enum class Outcome { decoded, protocol_error, other_exception };

Outcome try_decode(const Decoder& decode, const std::string& bytes) {
  try {
    decode(bytes.data(), bytes.size());
    return Outcome::decoded;
  } catch (const ProtocolError&) {
    return Outcome::protocol_error;
  } catch (...) {
    return Outcome::other_exception;
  }
}

std::string hex(const std::string& bytes) {
  static const char* const digits = "0123456789abcdef";
  std::string out;
  for (unsigned char byte : bytes) {
    out += digits[byte >> 4];
    out += digits[byte & 0xF];
  }
  return out;
}

// ---------------------------------------------------------------------------
// Messages with every field set to a value that a lost or swapped field
// would change.

// A converged point of the default map, solved for real.
PointResult solved_point() {
  const Model model = mkmap::default_model();
  const std::vector<GridPoint> points = mkmap::grid_points(model);
  const PointResult result = mkmap::solve_point(model, points.at(37));
  REQUIRE(result.status == PointStatus::converged);
  return result;
}

PointResult failed_point() {
  PointResult point;
  point.index = 38;
  point.status = PointStatus::failed;
  point.reason = "Newton \"diverged\", residual 1e+03,\nthen integrator\r\nstalled; θ_CO → 1, Überlauf";
  point.tof = 0.0;
  point.residual = 1.0e3;
  point.site_sum_error = 2.5e-11;
  point.balance_error = 0.75;
  point.iterations = 200;
  point.solve_time_s = 0.125;
  point.precision = mkmap::Precision::extended_precision;
  point.net_rates = {1.5, -2.5e-30};
  point.reversibilities = {std::numeric_limits<double>::quiet_NaN(), 0.5};
  return point;
}

protocol::Task sample_task() {
  protocol::Task task;
  task.run_id = "0123456789abcdef";
  task.chunk_id = (std::int64_t{1} << 40) + 3;
  task.attempt = 7;
  task.model_yaml = mkmap::default_model_text();
  task.x_axis = "CO:1.0000000000000001e-05:0.5:10:lin";
  task.y_axis = "T:400:800:5:log";
  task.points = {{0, 0.5, 0.25},
                 {99, 1e-300, std::numeric_limits<double>::denorm_min()},
                 {(std::int64_t{1} << 53) + 1, 0.0, std::numeric_limits<double>::max()},
                 {4, 0.1, 1.0 / 3.0}};
  return task;
}

void check_same_points(const std::vector<GridPoint>& actual, const std::vector<GridPoint>& expected) {
  REQUIRE(actual.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO("point " << i);
    CHECK(actual[i].index == expected[i].index);
    CHECK(bits(actual[i].x) == bits(expected[i].x));
    CHECK(bits(actual[i].y) == bits(expected[i].y));
  }
}

void check_same_point_result(const PointResult& actual, const PointResult& expected) {
  CHECK(actual.index == expected.index);
  CHECK(actual.status == expected.status);
  CHECK(actual.reason == expected.reason);
  CHECK(bits(actual.tof) == bits(expected.tof));
  CHECK(bits(actual.residual) == bits(expected.residual));
  CHECK(bits(actual.site_sum_error) == bits(expected.site_sum_error));
  CHECK(bits(actual.balance_error) == bits(expected.balance_error));
  CHECK(actual.iterations == expected.iterations);
  CHECK(bits(actual.solve_time_s) == bits(expected.solve_time_s));
  CHECK(actual.precision == expected.precision);
  const std::pair<const char*, std::pair<const std::vector<double>*, const std::vector<double>*>>
      lists[] = {{"coverage", {&actual.coverages, &expected.coverages}},
                 {"branch TOF", {&actual.branch_tofs, &expected.branch_tofs}},
                 {"net rate", {&actual.net_rates, &expected.net_rates}},
                 {"reversibility", {&actual.reversibilities, &expected.reversibilities}}};
  for (const auto& [name, values] : lists) {
    REQUIRE(values.first->size() == values.second->size());
    for (std::size_t i = 0; i < values.second->size(); ++i) {
      INFO(name << " " << i);
      // NaN marks an undefined reversibility and must survive the trip.
      CHECK(bits((*values.first)[i]) == bits((*values.second)[i]));
    }
  }
}

void check_same_axis(const ScanAxis& actual, const ScanAxis& expected) {
  CHECK(actual.variable == expected.variable);
  CHECK(actual.gas == expected.gas);
  CHECK(bits(actual.from) == bits(expected.from));
  CHECK(bits(actual.to) == bits(expected.to));
  CHECK(actual.points == expected.points);
  CHECK(actual.spacing == expected.spacing);
}

// Returns the valid encoding of each message type.
std::vector<std::pair<MessageType, std::string>> sample_encodings() {
  protocol::Result result;
  result.run_id = "run-1";
  result.chunk_id = 3;
  result.attempt = 2;
  result.worker_threads = 4;
  PointResult point;
  point.index = 12;
  point.status = PointStatus::converged;
  point.reason = "";
  point.tof = 0.25;
  point.coverages = {0.25, 0.5, 0.25};
  result.points = {point, failed_point()};

  protocol::Run run;
  run.run_id = "run-1";
  run.model_yaml = "model";
  run.model_source = "source";
  run.x_axis = "CO:0:1:2:lin";
  run.y_axis = "O2:0:1:2:lin";
  run.chunk_size = 4;

  protocol::Status status;
  status.run_id = "run-1";
  status.done_points = 10;
  status.total_points = 100;

  const protocol::Ready ready{"run-1", 3, 7, 2};
  const protocol::GiveUp give_up{"run-1", 4, 3, "lease expired"};

  return {{MessageType::task, protocol::encode(sample_task())},
          {MessageType::result, protocol::encode(result)},
          {MessageType::run, protocol::encode(run)},
          {MessageType::status, protocol::encode(status)},
          {MessageType::ready, protocol::encode(ready)},
          {MessageType::give_up, protocol::encode(give_up)},
          {MessageType::dispatch_stats,
           protocol::encode(protocol::DispatchStats{"run-1", 3, 2, 1, 0})}};
}

Decoder decoder_for(MessageType type) {
  switch (type) {
    case MessageType::task:
      return [](const void* data, std::size_t size) { protocol::decode_task(data, size); };
    case MessageType::result:
      return [](const void* data, std::size_t size) { protocol::decode_result(data, size); };
    case MessageType::run:
      return [](const void* data, std::size_t size) { protocol::decode_run(data, size); };
    case MessageType::status:
      return [](const void* data, std::size_t size) { protocol::decode_status(data, size); };
    case MessageType::ready:
      return [](const void* data, std::size_t size) { protocol::decode_ready(data, size); };
    case MessageType::give_up:
      return [](const void* data, std::size_t size) { protocol::decode_give_up(data, size); };
    case MessageType::dispatch_stats:
      return [](const void* data, std::size_t size) {
        protocol::decode_dispatch_stats(data, size);
      };
  }
  FAIL("no decoder for message type " << static_cast<int>(type));
  return {};
}

// The default model with its y axis replaced by a temperature axis.
Model temperature_model(const std::string& spec) {
  Model model = mkmap::default_model();
  model.scan[1] = mkmap::parse_axis_override(spec, model);
  return model;
}

}  // namespace

// ===========================================================================
// Round trips

TEST_CASE("task round trip", "[protocol]") {
  const protocol::Task task = sample_task();
  const std::string bytes = protocol::encode(task);

  const protocol::Task decoded = protocol::decode_task(bytes.data(), bytes.size());

  CHECK(decoded.run_id == task.run_id);
  CHECK(decoded.chunk_id == task.chunk_id);
  CHECK(decoded.attempt == task.attempt);
  CHECK(decoded.model_yaml == task.model_yaml);
  CHECK(decoded.x_axis == task.x_axis);
  CHECK(decoded.y_axis == task.y_axis);
  check_same_points(decoded.points, task.points);
}

TEST_CASE("task round trip without points", "[protocol]") {
  protocol::Task task = sample_task();
  task.points.clear();
  const std::string bytes = protocol::encode(task);

  const protocol::Task decoded = protocol::decode_task(bytes.data(), bytes.size());

  CHECK(decoded.points.empty());
  CHECK(decoded.chunk_id == task.chunk_id);
}

TEST_CASE("result round trip", "[protocol]") {
  protocol::Result result;
  result.run_id = "fedcba9876543210";
  result.chunk_id = 9;
  result.attempt = 3;
  result.worker_threads = 16;
  result.points = {solved_point(), failed_point()};
  REQUIRE(result.points[0].coverages.size() == 3);
  const std::string bytes = protocol::encode(result);

  const protocol::Result decoded = protocol::decode_result(bytes.data(), bytes.size());

  CHECK(decoded.run_id == result.run_id);
  CHECK(decoded.chunk_id == result.chunk_id);
  CHECK(decoded.attempt == result.attempt);
  CHECK(decoded.worker_threads == result.worker_threads);
  REQUIRE(decoded.points.size() == 2);
  {
    INFO("converged point");
    check_same_point_result(decoded.points[0], result.points[0]);
  }
  {
    INFO("failed point with reason");
    check_same_point_result(decoded.points[1], result.points[1]);
  }
}

TEST_CASE("run round trip", "[protocol]") {
  protocol::Run run;
  run.run_id = "00000000000000ff";
  run.model_yaml = mkmap::default_model_text();
  run.model_source = "modèles/co, \"θ\".yaml";
  run.x_axis = "CO:1.0000000000000001e-05:0.5:10:lin";
  run.y_axis = "T:400:800:5:log";
  run.chunk_size = static_cast<std::int64_t>(protocol::kMaxChunkPoints);
  const std::string bytes = protocol::encode(run);

  const protocol::Run decoded = protocol::decode_run(bytes.data(), bytes.size());

  CHECK(decoded.run_id == run.run_id);
  CHECK(decoded.model_yaml == run.model_yaml);
  CHECK(decoded.model_source == run.model_source);
  CHECK(decoded.x_axis == run.x_axis);
  CHECK(decoded.y_axis == run.y_axis);
  CHECK(decoded.chunk_size == run.chunk_size);
}

TEST_CASE("status round trip", "[protocol]") {
  const bool complete = GENERATE(false, true);
  protocol::Status status;
  status.run_id = "a1b2c3d4e5f60718";
  status.done_points = (std::int64_t{1} << 33) + 1;
  status.total_points = std::numeric_limits<std::int64_t>::max();
  status.complete = complete;
  const std::string bytes = protocol::encode(status);

  const protocol::Status decoded = protocol::decode_status(bytes.data(), bytes.size());

  CHECK(decoded.run_id == status.run_id);
  CHECK(decoded.done_points == status.done_points);
  CHECK(decoded.total_points == status.total_points);
  CHECK(decoded.complete == complete);
}

TEST_CASE("hand-built messages decode", "[protocol]") {
  // These are the bases of the rejection cases below, so they must be valid.
  const std::string task_bytes = pack_message(task_fields());
  const std::string result_bytes = pack_message(result_fields());
  const std::string run_bytes = pack_message(run_fields());
  const std::string status_bytes = pack_message(status_fields());

  const protocol::Task task = protocol::decode_task(task_bytes.data(), task_bytes.size());
  const protocol::Result result =
      protocol::decode_result(result_bytes.data(), result_bytes.size());
  const protocol::Run run = protocol::decode_run(run_bytes.data(), run_bytes.size());
  const protocol::Status status =
      protocol::decode_status(status_bytes.data(), status_bytes.size());

  REQUIRE(task.points.size() == 1);
  CHECK(task.points[0].index == 5);
  CHECK(task.attempt == 1);
  REQUIRE(result.points.size() == 1);
  CHECK(result.points[0].status == PointStatus::converged);
  CHECK(result.points[0].coverages.size() == 3);
  CHECK(run.chunk_size == 4);
  CHECK(status.total_points == 100);
  REQUIRE(status.done_chunks.size() == 2);
  CHECK(status.done_chunks[1].begin == 5);
  CHECK(status.done_chunks[1].end == 6);

  const std::string ready_bytes = pack_message(ready_fields());
  const protocol::Ready ready = protocol::decode_ready(ready_bytes.data(), ready_bytes.size());
  CHECK(ready.free_slots == 3);
  CHECK(ready.tasks_received == 7);
  const std::string give_up_bytes = pack_message(give_up_fields());
  const protocol::GiveUp give_up =
      protocol::decode_give_up(give_up_bytes.data(), give_up_bytes.size());
  CHECK(give_up.chunk_id == 4);
  CHECK(give_up.attempts == 3);
}

TEST_CASE("decode accepts float32 and integer numbers", "[protocol]") {
  const std::string bytes = pack_message(
      task_fields_with_point({value(std::int64_t{5}), float32(0.5f), value(std::int64_t{-3})}));

  const protocol::Task task = protocol::decode_task(bytes.data(), bytes.size());

  REQUIRE(task.points.size() == 1);
  CHECK(task.points[0].x == 0.5);
  CHECK(task.points[0].y == -3.0);
}

TEST_CASE("task point negative zero", "[protocol]") {
  // msgpack-c 4.1 packs -0.0 as the integer 0, so the sign of a zero is
  // lost on the wire while every other finite double arrives bit for bit.
  protocol::Task task = sample_task();
  task.points[0].x = -0.0;
  const std::string bytes = protocol::encode(task);

  const protocol::Task decoded = protocol::decode_task(bytes.data(), bytes.size());

  CHECK(decoded.points[0].x == 0.0);
  CHECK_FALSE(std::signbit(decoded.points[0].x));
}

// ===========================================================================
// Message type

TEST_CASE("peek type of each message", "[protocol]") {
  for (const auto& [type, bytes] : sample_encodings()) {
    INFO("message type " << static_cast<int>(type));
    CHECK(protocol::peek_type(bytes.data(), bytes.size()) == type);
  }
}

TEST_CASE("peek type rejects bad headers", "[protocol]") {
  const std::vector<RejectCase> cases = {
      {"type 0", pack_message(replaced(status_fields(), kTypeField, value(0)))},
      {"type 8", pack_message(replaced(status_fields(), kTypeField, value(8)))},
      {"type 256", pack_message(replaced(status_fields(), kTypeField, value(256)))},
      {"type as string", pack_message(replaced(status_fields(), kTypeField, text("4")))},
      {"next version",
       pack_message(replaced(status_fields(), kVersionField, value(protocol::kVersion + 1)))},
      {"previous version",
       pack_message(replaced(status_fields(), kVersionField, value(protocol::kVersion - 1)))},
      {"version 0", pack_message(replaced(status_fields(), kVersionField, value(0)))},
      {"two header fields", pack_message({value(protocol::kVersion), value(4)})},
      {"empty array", pack_message({})},
      {"integer", pack(value(1))},
      {"empty map", pack(empty_map())},
      {"empty buffer", ""},
  };
  for (const RejectCase& bad : cases) {
    INFO(bad.what);
    CHECK_THROWS_AS(protocol::peek_type(bad.bytes.data(), bad.bytes.size()), ProtocolError);
  }
}

TEST_CASE("decoders reject other message types", "[protocol]") {
  for (const auto& [type, bytes] : sample_encodings()) {
    for (const MessageType other :
         {MessageType::task, MessageType::result, MessageType::run, MessageType::status,
          MessageType::ready, MessageType::give_up, MessageType::dispatch_stats}) {
      if (other == type) continue;
      INFO("message type " << static_cast<int>(type) << " given to the decoder of type "
                           << static_cast<int>(other));
      CHECK_THROWS_AS(decoder_for(other)(bytes.data(), bytes.size()), ProtocolError);
    }
  }
}

// ===========================================================================
// Rejection of malformed input

TEST_CASE("decode rejects every truncation", "[protocol]") {
  for (const auto& [type, bytes] : sample_encodings()) {
    const Decoder decode = decoder_for(type);
    for (std::size_t length = 0; length < bytes.size(); ++length) {
      INFO("message type " << static_cast<int>(type) << " cut to " << length << " of "
                           << bytes.size() << " bytes");
      CHECK_THROWS_AS(decode(bytes.data(), length), ProtocolError);
      CHECK_THROWS_AS(protocol::peek_type(bytes.data(), length), ProtocolError);
    }
  }
}

TEST_CASE("decode rejects trailing bytes", "[protocol]") {
  for (const auto& [type, bytes] : sample_encodings()) {
    const Decoder decode = decoder_for(type);
    for (const std::string& tail : {std::string(1, '\0'), std::string("\xc0"), bytes}) {
      const std::string padded = bytes + tail;
      INFO("message type " << static_cast<int>(type) << " followed by " << hex(tail));
      CHECK_THROWS_AS(decode(padded.data(), padded.size()), ProtocolError);
      CHECK_THROWS_AS(protocol::peek_type(padded.data(), padded.size()), ProtocolError);
    }
  }
}

TEST_CASE("decode rejects wrong version", "[protocol]") {
  const std::vector<std::pair<MessageType, std::vector<Field>>> messages = {
      {MessageType::task, task_fields()},
      {MessageType::result, result_fields()},
      {MessageType::run, run_fields()},
      {MessageType::status, status_fields()}};
  const std::vector<Field> versions = {value(protocol::kVersion + 1), value(0), value(-1),
                                       text("1"), nil(), float64(1.0)};

  for (const auto& [type, fields] : messages) {
    const Decoder decode = decoder_for(type);
    for (std::size_t i = 0; i < versions.size(); ++i) {
      const std::string bytes = pack_message(replaced(fields, kVersionField, versions[i]));
      INFO("message type " << static_cast<int>(type) << ", version case " << i << ": "
                           << hex(bytes.substr(0, 4)));
      CHECK_THROWS_AS(decode(bytes.data(), bytes.size()), ProtocolError);
    }
  }
}

TEST_CASE("task decode rejects bad fields", "[protocol]") {
  const std::vector<Field> fields = task_fields();
  const std::vector<Field> point = task_point_fields();
  const std::vector<RejectCase> cases = {
      {"type as string", pack_message(replaced(fields, kTypeField, text("1")))},
      {"run id as integer", pack_message(replaced(fields, kRunIdField, value(7)))},
      {"run id nil", pack_message(replaced(fields, kRunIdField, nil()))},
      {"run id as binary", pack_message(replaced(fields, kRunIdField, binary("run")))},
      {"chunk id as string", pack_message(replaced(fields, kTaskChunkField, text("2")))},
      {"chunk id as double", pack_message(replaced(fields, kTaskChunkField, float64(2.0)))},
      {"chunk id negative",
       pack_message(replaced(fields, kTaskChunkField, value(std::int64_t{-1})))},
      {"chunk id above int64",
       pack_message(replaced(fields, kTaskChunkField, value(std::uint64_t{1} << 63)))},
      {"attempt 0", pack_message(replaced(fields, kTaskAttemptField, value(0)))},
      {"attempt negative", pack_message(replaced(fields, kTaskAttemptField, value(-2)))},
      {"attempt above int32",
       pack_message(replaced(fields, kTaskAttemptField, value(std::int64_t{1} << 31)))},
      {"attempt as boolean", pack_message(replaced(fields, kTaskAttemptField, value(true)))},
      {"model as integer", pack_message(replaced(fields, kTaskModelField, value(1)))},
      {"x axis nil", pack_message(replaced(fields, kTaskXAxisField, nil()))},
      {"y axis as array", pack_message(replaced(fields, kTaskYAxisField, array({})))},
      {"points as integer", pack_message(replaced(fields, kTaskPointsField, value(1)))},
      {"points as string", pack_message(replaced(fields, kTaskPointsField, text("[]")))},
      {"points as map", pack_message(replaced(fields, kTaskPointsField, empty_map()))},
      {"point as integer",
       pack_message(replaced(fields, kTaskPointsField, array({value(0)})))},
      {"point with two fields", pack_message(task_fields_with_point(without_last(point)))},
      {"point with four fields", pack_message(task_fields_with_point(appended(point, float64(0.0))))},
      {"point index as string", pack_message(task_fields_with_point(replaced(point, 0, text("5"))))},
      {"point index negative",
       pack_message(task_fields_with_point(replaced(point, 0, value(std::int64_t{-5}))))},
      {"point index as double", pack_message(task_fields_with_point(replaced(point, 0, float64(5.0))))},
      {"point x as string", pack_message(task_fields_with_point(replaced(point, 1, text("0.5"))))},
      {"point y nil", pack_message(task_fields_with_point(replaced(point, 2, nil())))},
      {"point y as boolean", pack_message(task_fields_with_point(replaced(point, 2, value(false))))},
      {"missing field", pack_message(without_last(fields))},
      {"extra field", pack_message(appended(fields, nil()))},
  };
  for (const RejectCase& bad : cases) {
    INFO(bad.what);
    CHECK_THROWS_AS(protocol::decode_task(bad.bytes.data(), bad.bytes.size()), ProtocolError);
  }
}

TEST_CASE("result decode rejects bad fields", "[protocol]") {
  const std::vector<Field> fields = result_fields();
  const std::vector<Field> point = result_point_fields();
  const auto with_point = [](std::vector<Field> changed) {
    return pack_message(result_fields_with_point(std::move(changed)));
  };
  const std::vector<RejectCase> cases = {
      {"chunk id negative",
       pack_message(replaced(fields, kResultChunkField, value(std::int64_t{-1})))},
      {"chunk id as string", pack_message(replaced(fields, kResultChunkField, text("0")))},
      {"attempt 0", pack_message(replaced(fields, kResultAttemptField, value(0)))},
      {"worker threads negative", pack_message(replaced(fields, kResultThreadsField, value(-1)))},
      {"worker threads as string",
       pack_message(replaced(fields, kResultThreadsField, text("4")))},
      {"points as map", pack_message(replaced(fields, kResultPointsField, empty_map()))},
      {"points nil", pack_message(replaced(fields, kResultPointsField, nil()))},
      {"point as string", pack_message(replaced(fields, kResultPointsField, array({text("p")})))},
      {"point with a field missing", with_point(without_last(point))},
      {"point with an extra field", with_point(appended(point, nil()))},
      {"point index negative", with_point(replaced(point, 0, value(std::int64_t{-1})))},
      {"point index as double", with_point(replaced(point, 0, float64(0.0)))},
      {"status 2", with_point(replaced(point, kPointStatusField, value(2)))},
      {"status negative", with_point(replaced(point, kPointStatusField, value(-1)))},
      {"status as boolean", with_point(replaced(point, kPointStatusField, value(true)))},
      {"status as string",
       with_point(replaced(point, kPointStatusField, text("converged")))},
      {"TOF as string", with_point(replaced(point, kPointTofField, text("2.5e-3")))},
      {"TOF nil", with_point(replaced(point, kPointTofField, nil()))},
      {"residual as boolean", with_point(replaced(point, kPointResidualField, value(false)))},
      {"iterations negative", with_point(replaced(point, kPointIterationsField, value(-1)))},
      {"iterations above int32",
       with_point(replaced(point, kPointIterationsField, value(std::int64_t{1} << 31)))},
      {"iterations as double", with_point(replaced(point, kPointIterationsField, float64(12.0)))},
      {"solve time as string", with_point(replaced(point, kPointTimeField, text("0.01")))},
      {"coverages as number", with_point(replaced(point, kPointCoveragesField, value(0.3)))},
      {"coverages as map", with_point(replaced(point, kPointCoveragesField, empty_map()))},
      {"coverage as string",
       with_point(replaced(point, kPointCoveragesField, array({value(0.3), text("0.7")})))},
      {"coverage nested array",
       with_point(replaced(point, kPointCoveragesField, array({array({value(0.3)})})))},
      {"site-sum error as string", with_point(replaced(point, kPointSiteSumField, text("0")))},
      {"balance error nil", with_point(replaced(point, kPointBalanceField, nil()))},
      {"precision 2", with_point(replaced(point, kPointPrecisionField, value(2)))},
      {"precision as string", with_point(replaced(point, kPointPrecisionField, text("double")))},
      {"branch TOFs as number", with_point(replaced(point, kPointBranchesField, value(1.0)))},
      {"branch TOF as string",
       with_point(replaced(point, kPointBranchesField, array({text("1.0")})))},
      {"net rates as map", with_point(replaced(point, kPointNetRatesField, empty_map()))},
      {"reversibility -2",
       with_point(replaced(point, kPointReversibilitiesField, array({value(-2.0)})))},
      {"reversibility as string",
       with_point(replaced(point, kPointReversibilitiesField, array({text("1")})))},
      {"reason as integer", with_point(replaced(point, kPointReasonField, value(0)))},
      {"reason as binary", with_point(replaced(point, kPointReasonField, binary("failed")))},
      {"missing field", pack_message(without_last(fields))},
      {"extra field", pack_message(appended(fields, value(0)))},
  };
  for (const RejectCase& bad : cases) {
    INFO(bad.what);
    CHECK_THROWS_AS(protocol::decode_result(bad.bytes.data(), bad.bytes.size()), ProtocolError);
  }
}

TEST_CASE("run decode rejects bad fields", "[protocol]") {
  const std::vector<Field> fields = run_fields();
  const auto max_points = static_cast<std::int64_t>(protocol::kMaxChunkPoints);
  const std::vector<RejectCase> cases = {
      {"chunk size 0", pack_message(replaced(fields, kRunChunkSizeField, value(0)))},
      {"chunk size negative", pack_message(replaced(fields, kRunChunkSizeField, value(-4)))},
      {"chunk size above limit",
       pack_message(replaced(fields, kRunChunkSizeField, value(max_points + 1)))},
      {"chunk size as string", pack_message(replaced(fields, kRunChunkSizeField, text("4")))},
      {"chunk size as double", pack_message(replaced(fields, kRunChunkSizeField, float64(4.0)))},
      {"model as integer", pack_message(replaced(fields, kRunModelField, value(3)))},
      {"model source nil", pack_message(replaced(fields, kRunSourceField, nil()))},
      {"x axis as integer", pack_message(replaced(fields, kRunXAxisField, value(0)))},
      {"missing field", pack_message(without_last(fields))},
      {"extra field", pack_message(appended(fields, text("")))},
  };
  for (const RejectCase& bad : cases) {
    INFO(bad.what);
    CHECK_THROWS_AS(protocol::decode_run(bad.bytes.data(), bad.bytes.size()), ProtocolError);
  }
}

TEST_CASE("status decode rejects bad fields", "[protocol]") {
  const std::vector<Field> fields = status_fields();
  const std::vector<RejectCase> cases = {
      {"done negative", pack_message(replaced(fields, kStatusDoneField, value(-1)))},
      {"done as string", pack_message(replaced(fields, kStatusDoneField, text("10")))},
      {"total as double", pack_message(replaced(fields, kStatusTotalField, float64(100.0)))},
      {"total above int64",
       pack_message(replaced(fields, kStatusTotalField, value(std::uint64_t{1} << 63)))},
      {"complete as integer", pack_message(replaced(fields, kStatusCompleteField, value(1)))},
      {"complete nil", pack_message(replaced(fields, kStatusCompleteField, nil()))},
      {"complete as string", pack_message(replaced(fields, kStatusCompleteField, text("true")))},
      {"missing field", pack_message(without_last(fields))},
      {"extra field", pack_message(appended(fields, value(true)))},
      {"ranges not an array", pack_message(replaced(fields, kStatusRangesField, value(0)))},
      {"ranges of odd length",
       pack_message(replaced(fields, kStatusRangesField, array({value(0), value(2), value(5)})))},
      {"range empty",
       pack_message(replaced(fields, kStatusRangesField, array({value(3), value(3)})))},
      {"range reversed",
       pack_message(replaced(fields, kStatusRangesField, array({value(4), value(1)})))},
      {"ranges overlap", pack_message(replaced(fields, kStatusRangesField,
                                               array({value(0), value(4), value(3), value(6)})))},
      {"range negative",
       pack_message(replaced(fields, kStatusRangesField, array({value(-1), value(2)})))},
      {"range bound as string",
       pack_message(replaced(fields, kStatusRangesField, array({value(0), text("2")})))},
  };
  for (const RejectCase& bad : cases) {
    INFO(bad.what);
    CHECK_THROWS_AS(protocol::decode_status(bad.bytes.data(), bad.bytes.size()), ProtocolError);
  }
}

TEST_CASE("ready decode rejects bad fields", "[protocol]") {
  const std::vector<Field> fields = ready_fields();
  const std::vector<RejectCase> cases = {
      {"slots negative", pack_message(replaced(fields, kReadySlotsField, value(-1)))},
      {"slots above int32",
       pack_message(replaced(fields, kReadySlotsField, value(std::int64_t{1} << 31)))},
      {"received negative", pack_message(replaced(fields, kReadyReceivedField, value(-5)))},
      {"threads as string", pack_message(replaced(fields, kReadyThreadsField, text("2")))},
      {"missing field", pack_message(without_last(fields))},
      {"extra field", pack_message(appended(fields, value(1)))},
  };
  for (const RejectCase& bad : cases) {
    INFO(bad.what);
    CHECK_THROWS_AS(protocol::decode_ready(bad.bytes.data(), bad.bytes.size()), ProtocolError);
  }
}

TEST_CASE("give up decode rejects bad fields", "[protocol]") {
  const std::vector<Field> fields = give_up_fields();
  const std::vector<RejectCase> cases = {
      {"chunk negative", pack_message(replaced(fields, kGiveUpChunkField, value(-1)))},
      {"attempts zero", pack_message(replaced(fields, kGiveUpAttemptsField, value(0)))},
      {"reason as integer", pack_message(replaced(fields, kGiveUpReasonField, value(3)))},
      {"missing field", pack_message(without_last(fields))},
  };
  for (const RejectCase& bad : cases) {
    INFO(bad.what);
    CHECK_THROWS_AS(protocol::decode_give_up(bad.bytes.data(), bad.bytes.size()),
                    ProtocolError);
  }
}

TEST_CASE("status done ranges round trip", "[protocol]") {
  protocol::Status status;
  status.run_id = "run-2";
  status.done_chunks = {{0, 3}, {7, 8}, {10, 4000}};
  const std::string bytes = protocol::encode(status);

  const protocol::Status decoded = protocol::decode_status(bytes.data(), bytes.size());

  REQUIRE(decoded.done_chunks.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(decoded.done_chunks[i].begin == status.done_chunks[i].begin);
    CHECK(decoded.done_chunks[i].end == status.done_chunks[i].end);
  }
}

TEST_CASE("status keeps at most the range limit", "[protocol]") {
  protocol::Status status;
  status.run_id = "run-3";
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(protocol::kMaxDoneRanges) + 10; ++i) {
    status.done_chunks.push_back({2 * i, 2 * i + 1});
  }
  const std::string bytes = protocol::encode(status);

  const protocol::Status decoded = protocol::decode_status(bytes.data(), bytes.size());

  CHECK(decoded.done_chunks.size() == protocol::kMaxDoneRanges);
}

TEST_CASE("dispatch stats round trip", "[protocol]") {
  const protocol::DispatchStats stats{"run-5", 12, 3, 2, 1};
  const std::string bytes = protocol::encode(stats);

  const protocol::DispatchStats decoded =
      protocol::decode_dispatch_stats(bytes.data(), bytes.size());

  CHECK(decoded.run_id == stats.run_id);
  CHECK(decoded.in_flight == stats.in_flight);
  CHECK(decoded.redispatched == stats.redispatched);
  CHECK(decoded.backups == stats.backups);
  CHECK(decoded.given_up == stats.given_up);
}

TEST_CASE("ready and give up round trip", "[protocol]") {
  const protocol::Ready ready{"run-4", 5, (std::int64_t{1} << 40), 64};
  const std::string ready_bytes = protocol::encode(ready);
  const protocol::Ready decoded_ready =
      protocol::decode_ready(ready_bytes.data(), ready_bytes.size());
  CHECK(decoded_ready.run_id == ready.run_id);
  CHECK(decoded_ready.free_slots == ready.free_slots);
  CHECK(decoded_ready.tasks_received == ready.tasks_received);
  CHECK(decoded_ready.threads == ready.threads);

  const protocol::GiveUp give_up{"run-4", 9, 3, "lease of worker w2 expired, \"twice\""};
  const std::string give_up_bytes = protocol::encode(give_up);
  const protocol::GiveUp decoded_give_up =
      protocol::decode_give_up(give_up_bytes.data(), give_up_bytes.size());
  CHECK(decoded_give_up.run_id == give_up.run_id);
  CHECK(decoded_give_up.chunk_id == give_up.chunk_id);
  CHECK(decoded_give_up.attempts == give_up.attempts);
  CHECK(decoded_give_up.reason == give_up.reason);
}

TEST_CASE("decode rejects non-root arrays", "[protocol]") {
  const std::vector<RejectCase> cases = {
      {"integer", pack(value(1))},
      {"string", pack(text("task"))},
      {"nil", pack(nil())},
      {"empty map", pack(empty_map())},
      {"empty array", pack_message({})},
  };
  for (const NamedDecoder& decoder : all_decoders()) {
    for (const RejectCase& bad : cases) {
      INFO(decoder.name << ": " << bad.what);
      CHECK_THROWS_AS(decoder.decode(bad.bytes.data(), bad.bytes.size()), ProtocolError);
    }
  }
}

TEST_CASE("decode rejects header only", "[protocol]") {
  for (const auto& [type, fields] : std::vector<std::pair<MessageType, std::vector<Field>>>{
           {MessageType::task, task_fields()},
           {MessageType::result, result_fields()},
           {MessageType::run, run_fields()},
           {MessageType::status, status_fields()}}) {
    const std::vector<Field> header(fields.begin(), fields.begin() + 3);
    const std::string bytes = pack_message(header);
    INFO("message type " << static_cast<int>(type));
    CHECK(protocol::peek_type(bytes.data(), bytes.size()) == type);
    CHECK_THROWS_AS(decoder_for(type)(bytes.data(), bytes.size()), ProtocolError);
  }
}

TEST_CASE("decode rejects non-finite numbers", "[protocol]") {
  const std::vector<std::pair<std::string, std::function<void(PointResult&, double)>>> slots = {
      {"TOF", [](PointResult& point, double bad) { point.tof = bad; }},
      {"residual", [](PointResult& point, double bad) { point.residual = bad; }},
      {"solve time", [](PointResult& point, double bad) { point.solve_time_s = bad; }},
      {"coverage", [](PointResult& point, double bad) { point.coverages[1] = bad; }},
      {"site-sum error", [](PointResult& point, double bad) { point.site_sum_error = bad; }},
      {"balance error", [](PointResult& point, double bad) { point.balance_error = bad; }},
      {"branch TOF", [](PointResult& point, double bad) { point.branch_tofs = {bad}; }},
      {"net rate", [](PointResult& point, double bad) { point.net_rates = {1.0, bad}; }},
  };

  for (const double bad : {kNaN, kInf, -kInf}) {
    INFO("value " << bad);

    for (const bool in_x : {true, false}) {
      protocol::Task task = sample_task();
      (in_x ? task.points[1].x : task.points[1].y) = bad;
      const std::string bytes = protocol::encode(task);
      INFO("task point " << (in_x ? "x" : "y"));
      CHECK_THROWS_AS(protocol::decode_task(bytes.data(), bytes.size()), ProtocolError);
    }

    for (const auto& [slot, spoil] : slots) {
      protocol::Result result;
      result.run_id = "run-1";
      PointResult point;
      point.status = PointStatus::converged;
      point.coverages = {0.25, 0.5, 0.25};
      spoil(point, bad);
      result.points = {point};
      const std::string bytes = protocol::encode(result);
      INFO("result point " << slot);
      CHECK_THROWS_AS(protocol::decode_result(bytes.data(), bytes.size()), ProtocolError);
    }

    const std::string float32_bytes = pack_message(task_fields_with_point(
        {value(std::int64_t{5}), float32(static_cast<float>(bad)), value(0.25)}));
    INFO("float32 task point x");
    CHECK_THROWS_AS(protocol::decode_task(float32_bytes.data(), float32_bytes.size()),
                    ProtocolError);
  }
}

TEST_CASE("decode text size limit", "[protocol]") {
  protocol::Run run;
  run.run_id = "run-1";
  run.model_yaml.assign(protocol::kMaxTextBytes, 'm');
  const std::string at_limit = protocol::encode(run);
  run.model_yaml.push_back('m');
  const std::string above_limit = protocol::encode(run);

  CHECK(protocol::decode_run(at_limit.data(), at_limit.size()).model_yaml.size() ==
        protocol::kMaxTextBytes);
  CHECK_THROWS_AS(protocol::decode_run(above_limit.data(), above_limit.size()), ProtocolError);
}

TEST_CASE("decode rejects huge length headers", "[protocol]") {
  // 0xdd and 0xdb are the 5-byte array and string headers of msgpack. A
  // decoder that trusted an array length would allocate 2^32-1 elements
  // before reading them.
  const std::uint32_t claimed = std::numeric_limits<std::uint32_t>::max();
  const Field huge_array = [claimed](msgpack::sbuffer& buffer) {
    Packer(buffer).pack_array(claimed);
  };
  const Field huge_string = [claimed](msgpack::sbuffer& buffer) {
    Packer(buffer).pack_str(claimed);
  };
  REQUIRE(pack(huge_array) == std::string("\xdd\xff\xff\xff\xff", 5));
  REQUIRE(pack(huge_string) == std::string("\xdb\xff\xff\xff\xff", 5));

  const std::vector<RejectCase> array_cases = {
      {"root array", pack(huge_array)},
      {"task points", pack_message(replaced(task_fields(), kTaskPointsField, huge_array))},
      {"result points", pack_message(replaced(result_fields(), kResultPointsField, huge_array))},
      {"coverages",
       pack_message(result_fields_with_point(
           replaced(result_point_fields(), kPointCoveragesField, huge_array)))},
  };
  const std::vector<RejectCase> string_cases = {
      {"root string", pack(huge_string)},
      {"run id", pack_message(replaced(task_fields(), kRunIdField, huge_string))},
  };

  for (const NamedDecoder& decoder : all_decoders()) {
    for (const RejectCase& bad : array_cases) {
      INFO(decoder.name << ": " << bad.what);
      const auto start = std::chrono::steady_clock::now();
      std::string message;
      try {
        decoder.decode(bad.bytes.data(), bad.bytes.size());
      } catch (const ProtocolError& error) {
        message = error.what();
      }
      const auto elapsed = std::chrono::steady_clock::now() - start;

      // msgpack-c 4.1 checks the array limit and reports "array size
      // overflow" before it allocates. A failed allocation reads otherwise.
      CHECK_THAT(message, Contains("size overflow"));
      CHECK(elapsed < std::chrono::seconds(1));
    }

    // msgpack-c 4.1 waits for all bytes of a string before it copies one.
    for (const RejectCase& bad : string_cases) {
      INFO(decoder.name << ": " << bad.what);
      const auto start = std::chrono::steady_clock::now();
      CHECK_THROWS_AS(decoder.decode(bad.bytes.data(), bad.bytes.size()), ProtocolError);
      CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
    }
  }
}

TEST_CASE("decode point count limit", "[protocol]") {
  const std::size_t limit = protocol::kMaxChunkPoints;

  SECTION("task") {
    protocol::Task task = sample_task();
    task.points.assign(limit, GridPoint{1, 0.5, 0.25});
    const std::string at_limit = protocol::encode(task);
    task.points.push_back(GridPoint{2, 0.5, 0.25});
    const std::string above_limit = protocol::encode(task);

    CHECK(protocol::decode_task(at_limit.data(), at_limit.size()).points.size() == limit);
    CHECK_THROWS_AS(protocol::decode_task(above_limit.data(), above_limit.size()),
                    ProtocolError);
  }

  SECTION("result") {
    protocol::Result result;
    result.run_id = "run-1";
    PointResult point;
    point.coverages = {0.5, 0.5};
    result.points.assign(limit, point);
    const std::string at_limit = protocol::encode(result);
    result.points.push_back(point);
    const std::string above_limit = protocol::encode(result);

    CHECK(protocol::decode_result(at_limit.data(), at_limit.size()).points.size() == limit);
    CHECK_THROWS_AS(protocol::decode_result(above_limit.data(), above_limit.size()),
                    ProtocolError);
  }
}

TEST_CASE("decode coverage count limit", "[protocol]") {
  protocol::Result result;
  result.run_id = "run-1";
  PointResult point;
  point.status = PointStatus::converged;
  point.coverages.assign(protocol::kMaxCoverages, 1.0 / 3.0);
  result.points = {point};
  const std::string at_limit = protocol::encode(result);
  result.points[0].coverages.push_back(0.5);
  const std::string above_limit = protocol::encode(result);

  const protocol::Result decoded = protocol::decode_result(at_limit.data(), at_limit.size());

  REQUIRE(decoded.points.size() == 1);
  CHECK(decoded.points[0].coverages.size() == protocol::kMaxCoverages);
  CHECK_THROWS_AS(protocol::decode_result(above_limit.data(), above_limit.size()),
                  ProtocolError);
}

TEST_CASE("decode random bytes", "[protocol]") {
  constexpr int kBuffers = 4000;
  constexpr std::size_t kMaxLength = 64;
  std::mt19937 random(20240611);
  std::uniform_int_distribution<std::size_t> length(0, kMaxLength);
  std::uniform_int_distribution<int> byte(0, 255);

  int other_exceptions = 0;
  std::string first_offender;
  for (int i = 0; i < kBuffers; ++i) {
    std::string bytes(length(random), '\0');
    for (char& c : bytes) c = static_cast<char>(byte(random));
    for (const NamedDecoder& decoder : all_decoders()) {
      if (try_decode(decoder.decode, bytes) != Outcome::other_exception) continue;
      ++other_exceptions;
      if (first_offender.empty()) first_offender = decoder.name + " on " + hex(bytes);
    }
  }

  INFO("first exception other than ProtocolError: " << first_offender);
  CHECK(other_exceptions == 0);
}

TEST_CASE("decode mutated messages", "[protocol]") {
  // Random bytes rarely get past the header, so this also spoils 1 to 4
  // bytes of valid messages to reach the field checks.
  constexpr int kMutationsPerMessage = 1500;
  std::mt19937 random(7);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> spoiled_count(1, 4);

  int other_exceptions = 0;
  int rejected = 0;
  std::string first_offender;
  for (const auto& [type, valid] : sample_encodings()) {
    std::uniform_int_distribution<std::size_t> position(0, valid.size() - 1);
    for (int i = 0; i < kMutationsPerMessage; ++i) {
      std::string bytes = valid;
      for (int k = spoiled_count(random); k > 0; --k) {
        bytes[position(random)] = static_cast<char>(byte(random));
      }
      for (const NamedDecoder& decoder : all_decoders()) {
        const Outcome outcome = try_decode(decoder.decode, bytes);
        if (outcome == Outcome::protocol_error) ++rejected;
        if (outcome != Outcome::other_exception) continue;
        ++other_exceptions;
        if (first_offender.empty()) first_offender = decoder.name + " on " + hex(bytes);
      }
    }
  }

  INFO("first exception other than ProtocolError: " << first_offender);
  CHECK(other_exceptions == 0);
  CHECK(rejected > 0);
}

// ===========================================================================
// Helpers

TEST_CASE("chunk count arithmetic", "[protocol]") {
  CHECK(protocol::chunk_count(100, 4) == 25);
  CHECK(protocol::chunk_count(100, 7) == 15);
  CHECK(protocol::chunk_count(100, 100) == 1);
  CHECK(protocol::chunk_count(100, 101) == 1);
  CHECK(protocol::chunk_count(100, 1) == 100);
  CHECK(protocol::chunk_count(101, 4) == 26);
  CHECK(protocol::chunk_count(1, 65536) == 1);
  CHECK(protocol::chunk_count(0, 4) == 0);
  CHECK(protocol::chunk_count(std::int64_t{1} << 62, 65536) == std::int64_t{1} << 46);
  CHECK(protocol::chunk_count((std::int64_t{1} << 62) + 1, 65536) == (std::int64_t{1} << 46) + 1);
}

TEST_CASE("run id format and determinism", "[protocol]") {
  const Model model = mkmap::default_model();
  const std::string first = mkmap::derive_run_id(model, 4);
  const std::string again = mkmap::derive_run_id(model, 4);
  const std::string other_chunks = mkmap::derive_run_id(model, 5);
  Model other_axis = model;
  other_axis.scan[0] = mkmap::parse_axis_override("CO:1e-5:0.5:11", model);
  const std::string other_grid = mkmap::derive_run_id(other_axis, 4);

  CHECK(first.size() == 16);
  CHECK(first.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(first == again);
  CHECK(first != other_chunks);
  CHECK(first != other_grid);
}

// ===========================================================================
// Run plan

TEST_CASE("plan chunk size 4", "[protocol][run_plan]") {
  const RunPlan plan("run-1", mkmap::default_model(), 4);

  CHECK(plan.total_points() == 100);
  CHECK(plan.chunk_count() == 25);
  CHECK(plan.chunk_begin(24) == 96);
  CHECK(plan.chunk_length(24) == 4);
  CHECK(plan.chunk_length(0) == 4);
}

TEST_CASE("plan chunk size 7", "[protocol][run_plan]") {
  const RunPlan plan("run-1", mkmap::default_model(), 7);

  CHECK(plan.chunk_count() == 15);
  CHECK(plan.chunk_begin(14) == 98);
  CHECK(plan.chunk_length(14) == 2);
  CHECK(plan.chunk_length(13) == 7);
}

TEST_CASE("plan chunks cover every point once", "[protocol][run_plan]") {
  const Model model = mkmap::default_model();
  for (const std::int64_t chunk_size : {1, 3, 4, 7, 10, 33, 99, 100, 101, 65536}) {
    INFO("chunk size " << chunk_size);
    const RunPlan plan("run-1", model, chunk_size);
    std::vector<int> times_covered(static_cast<std::size_t>(plan.total_points()), 0);
    int empty_chunks = 0;
    int indices_outside = 0;

    for (std::int64_t chunk = 0; chunk < plan.chunk_count(); ++chunk) {
      const std::int64_t begin = plan.chunk_begin(chunk);
      const std::int64_t length = plan.chunk_length(chunk);
      if (length < 1) ++empty_chunks;
      for (std::int64_t index = begin; index < begin + length; ++index) {
        if (index < 0 || index >= plan.total_points()) {
          ++indices_outside;
          continue;
        }
        ++times_covered[static_cast<std::size_t>(index)];
      }
    }

    CHECK(empty_chunks == 0);
    CHECK(indices_outside == 0);
    CHECK(std::count(times_covered.begin(), times_covered.end(), 1) == plan.total_points());
  }
}

TEST_CASE("plan grid indices", "[protocol][run_plan]") {
  const RunPlan plan("run-1", mkmap::default_model(), 4);
  const std::vector<double> x_values = mkmap::axis_values(plan.model().scan[0]);
  const std::vector<double> y_values = mkmap::axis_values(plan.model().scan[1]);

  REQUIRE(plan.points().size() == 100);
  for (std::size_t i = 0; i < plan.points().size(); ++i) {
    INFO("point " << i);
    CHECK(plan.points()[i].index == static_cast<std::int64_t>(i));
    CHECK(bits(plan.points()[i].x) == bits(x_values[i % 10]));
    CHECK(bits(plan.points()[i].y) == bits(y_values[i / 10]));
  }
}

TEST_CASE("plan rejects chunk sizes", "[protocol][run_plan]") {
  const Model model = mkmap::default_model();
  const auto max_points = static_cast<std::int64_t>(protocol::kMaxChunkPoints);

  CHECK_THROWS_AS(RunPlan("run-1", model, 0), std::invalid_argument);
  CHECK_THROWS_AS(RunPlan("run-1", model, -1), std::invalid_argument);
  CHECK_THROWS_AS(RunPlan("run-1", model, max_points + 1), std::invalid_argument);
  CHECK_NOTHROW(RunPlan("run-1", model, 1));
  CHECK_NOTHROW(RunPlan("run-1", model, max_points));
}

TEST_CASE("plan message round trip", "[protocol][run_plan]") {
  Model log_pressure = mkmap::default_model();
  log_pressure.scan[0] = mkmap::parse_axis_override("CO:1e-7:0.30000000000000004:13:log", log_pressure);
  const std::vector<std::pair<std::string, Model>> models = {
      {"default", mkmap::default_model()},
      {"linear temperature", temperature_model("T:400:700:5:lin")},
      {"log temperature", temperature_model("T:450.5:700.125:7:log")},
      {"log pressure", log_pressure}};

  for (const auto& [what, model] : models) {
    INFO(what);
    const RunPlan plan("a1b2c3d4e5f60718", model, 7);

    // Through the wire as the sink receives it.
    const std::string bytes = protocol::encode(plan.to_message());
    const RunPlan received =
        RunPlan::from_message(protocol::decode_run(bytes.data(), bytes.size()));

    CHECK(received.run_id() == plan.run_id());
    CHECK(received.chunk_size() == plan.chunk_size());
    CHECK(received.chunk_count() == plan.chunk_count());
    check_same_axis(received.model().scan[0], plan.model().scan[0]);
    check_same_axis(received.model().scan[1], plan.model().scan[1]);
    check_same_points(received.points(), plan.points());
  }
}

TEST_CASE("plan default message round trip", "[protocol][run_plan]") {
  const RunPlan plan("run-1", mkmap::default_model(), 4);

  const protocol::Run message = plan.to_message();
  const RunPlan received = RunPlan::from_message(message);

  CHECK(message.model_yaml == mkmap::default_model_text());
  CHECK(message.model_source == plan.model().source_name);
  CHECK(received.model().source_name == plan.model().source_name);
  check_same_axis(received.model().scan[0], plan.model().scan[0]);
  check_same_axis(received.model().scan[1], plan.model().scan[1]);
  check_same_points(received.points(), plan.points());
}

TEST_CASE("axis spec round trip", "[protocol][run_plan]") {
  const Model model = mkmap::default_model();
  ScanAxis awkward_log;
  awkward_log.variable = AxisVariable::pressure;
  awkward_log.gas = 1;
  awkward_log.from = 0.1 + 0.2;
  awkward_log.to = std::nextafter(1.0 / 3.0, 1.0);
  awkward_log.points = 13;
  awkward_log.spacing = AxisSpacing::logarithmic;
  ScanAxis temperature;
  temperature.variable = AxisVariable::temperature;
  temperature.from = 273.15;
  temperature.to = 1000.0 / 3.0;
  temperature.points = 4;
  temperature.spacing = AxisSpacing::linear;
  ScanAxis temperature_log = temperature;
  temperature_log.spacing = AxisSpacing::logarithmic;
  ScanAxis tiny_pressure = model.scan[0];
  tiny_pressure.from = 1e-300;
  tiny_pressure.to = 0.0;
  tiny_pressure.points = 1;

  const std::vector<std::pair<std::string, ScanAxis>> axes = {
      {"default x", model.scan[0]},          {"default y", model.scan[1]},
      {"log pressure", awkward_log},          {"linear temperature", temperature},
      {"log temperature", temperature_log},   {"tiny pressure", tiny_pressure}};
  for (const auto& [what, axis] : axes) {
    const std::string spec = mkmap::format_axis_spec(axis, model);
    INFO(what << ": " << spec);
    check_same_axis(mkmap::parse_axis_override(spec, model), axis);
  }
}

TEST_CASE("axis spec text", "[protocol][run_plan]") {
  const Model model = mkmap::default_model();
  const Model with_temperature = temperature_model("T:400:800:5:log");

  CHECK(mkmap::format_axis_spec(model.scan[0], model) == "CO:1.0000000000000001e-05:0.5:10:lin");
  CHECK(mkmap::format_axis_spec(model.scan[1], model) == "O2:1.0000000000000001e-05:0.5:10:lin");
  CHECK(mkmap::format_axis_spec(with_temperature.scan[1], with_temperature) == "T:400:800:5:log");
}

TEST_CASE("plan make task", "[protocol][run_plan]") {
  const RunPlan plan("run-1", temperature_model("T:450:650:10:lin"), 7);
  const std::int64_t chunk = GENERATE(0, 3, 14);
  INFO("chunk " << chunk);

  const protocol::Task task = plan.make_task(chunk, 2);

  CHECK(task.run_id == "run-1");
  CHECK(task.chunk_id == chunk);
  CHECK(task.attempt == 2);
  CHECK(task.model_yaml == plan.model().source_text);
  CHECK(task.x_axis == mkmap::format_axis_spec(plan.model().scan[0], plan.model()));
  CHECK(task.y_axis == "T:450:650:10:lin");
  const auto begin = plan.points().begin() + plan.chunk_begin(chunk);
  check_same_points(task.points, {begin, begin + plan.chunk_length(chunk)});
}

TEST_CASE("model from task", "[protocol][run_plan]") {
  const RunPlan plan("run-1", temperature_model("T:450:650:10:log"), 7);
  const protocol::Task task = plan.make_task(5, 1);
  const std::string bytes = protocol::encode(task);

  const Model model = mkmap::model_from_task(protocol::decode_task(bytes.data(), bytes.size()));

  check_same_axis(model.scan[0], plan.model().scan[0]);
  check_same_axis(model.scan[1], plan.model().scan[1]);
  CHECK(model.scan[1].variable == AxisVariable::temperature);
  CHECK(model.steps.size() == plan.model().steps.size());
  check_same_points(mkmap::grid_points(model), plan.points());
}

TEST_CASE("model from task rejects bad axes", "[protocol][run_plan]") {
  const RunPlan plan("run-1", mkmap::default_model(), 7);
  protocol::Task task = plan.make_task(0, 1);

  SECTION("unknown gas") {
    task.x_axis = "H2:0:1:3:lin";
    CHECK_THROWS_AS(mkmap::model_from_task(task), ModelError);
  }
  SECTION("same variable twice") {
    task.y_axis = task.x_axis;
    CHECK_THROWS_AS(mkmap::model_from_task(task), ModelError);
  }
  SECTION("invalid model text") {
    task.model_yaml = "temperature: [500";
    CHECK_THROWS_AS(mkmap::model_from_task(task), ModelError);
  }
}

TEST_CASE("plan from invalid run", "[protocol][run_plan]") {
  protocol::Run run = RunPlan("run-1", mkmap::default_model(), 7).to_message();

  SECTION("yaml syntax") {
    run.model_yaml = "temperature: [500\nsites: {";
    CHECK_THROWS_AS(RunPlan::from_message(run), ModelError);
  }
  SECTION("missing reactions") {
    run.model_yaml = "temperature: 500\n";
    CHECK_THROWS_AS(RunPlan::from_message(run), ModelError);
  }
  SECTION("empty text") {
    run.model_yaml = "";
    CHECK_THROWS_AS(RunPlan::from_message(run), ModelError);
  }
  SECTION("invalid axis") {
    run.y_axis = "O2:0.5:1e-5:10:lin:extra";
    CHECK_THROWS_AS(RunPlan::from_message(run), ModelError);
  }
}
