// libFuzzer target for the wire decoders.
//
// The first input byte selects the decoder (byte % 8: the seven decoders in
// MessageType order, then peek_type) and the rest is the message. The target
// aborts, so that libFuzzer reports the input, when a decoder throws anything
// but ProtocolError, or when a decoded message does not survive
// encode -> decode unchanged.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "protocol/messages.hpp"

namespace protocol = mkmap::protocol;

namespace {

// Decoder selectors: MessageType values 1..7 map to 0..6.
constexpr std::uint8_t kDecoderCount = 8;
constexpr std::uint8_t kPeekTypeSelector = 7;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "protocol_fuzz: %s\n", what);
  std::abort();
}

// Doubles compare with == because msgpack-c 4.1 packs a double with an
// integral value as an integer, so -0.0 comes back as 0.0.
bool same(const mkmap::GridPoint& a, const mkmap::GridPoint& b) {
  return a.index == b.index && a.x == b.x && a.y == b.y;
}

bool same(const mkmap::PointResult& a, const mkmap::PointResult& b) {
  return a.index == b.index && a.status == b.status && a.reason == b.reason &&
         a.tof == b.tof && a.coverages == b.coverages && a.residual == b.residual &&
         a.iterations == b.iterations && a.solve_time_s == b.solve_time_s;
}

bool same(const protocol::ChunkRange& a, const protocol::ChunkRange& b) {
  return a.begin == b.begin && a.end == b.end;
}

template <typename T>
bool same_list(const std::vector<T>& a, const std::vector<T>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!same(a[i], b[i])) return false;
  }
  return true;
}

bool same(const protocol::Task& a, const protocol::Task& b) {
  return a.run_id == b.run_id && a.chunk_id == b.chunk_id && a.attempt == b.attempt &&
         a.model_yaml == b.model_yaml && a.x_axis == b.x_axis && a.y_axis == b.y_axis &&
         same_list(a.points, b.points);
}

bool same(const protocol::Result& a, const protocol::Result& b) {
  return a.run_id == b.run_id && a.chunk_id == b.chunk_id && a.attempt == b.attempt &&
         a.worker_threads == b.worker_threads && same_list(a.points, b.points);
}

bool same(const protocol::Run& a, const protocol::Run& b) {
  return a.run_id == b.run_id && a.model_yaml == b.model_yaml &&
         a.model_source == b.model_source && a.x_axis == b.x_axis && a.y_axis == b.y_axis &&
         a.chunk_size == b.chunk_size;
}

bool same(const protocol::Status& a, const protocol::Status& b) {
  return a.run_id == b.run_id && a.done_points == b.done_points &&
         a.total_points == b.total_points && a.complete == b.complete &&
         same_list(a.done_chunks, b.done_chunks);
}

bool same(const protocol::Ready& a, const protocol::Ready& b) {
  return a.run_id == b.run_id && a.free_slots == b.free_slots &&
         a.tasks_received == b.tasks_received && a.threads == b.threads;
}

bool same(const protocol::GiveUp& a, const protocol::GiveUp& b) {
  return a.run_id == b.run_id && a.chunk_id == b.chunk_id && a.attempts == b.attempts &&
         a.reason == b.reason;
}

bool same(const protocol::DispatchStats& a, const protocol::DispatchStats& b) {
  return a.run_id == b.run_id && a.in_flight == b.in_flight &&
         a.redispatched == b.redispatched && a.backups == b.backups &&
         a.given_up == b.given_up;
}

// Decodes data and, when that succeeds, checks the header type and the
// round trip. A ProtocolError from the first decode is the expected rejection.
template <typename Message>
void check(Message (*decode)(const void*, std::size_t), protocol::MessageType type,
           const std::uint8_t* data, std::size_t size) {
  Message decoded;
  try {
    decoded = decode(data, size);
  } catch (const protocol::ProtocolError&) {
    return;
  }

  // peek_type must agree with a decoder that accepted the message.
  if (protocol::peek_type(data, size) != type) fail("peek_type disagrees with the decoder");

  // A ProtocolError from here on escapes and aborts, because it means that
  // the encoder wrote a message that its own decoder rejects.
  const std::string encoded = protocol::encode(decoded);
  const Message again = decode(encoded.data(), encoded.size());
  if (!same(decoded, again)) fail("message changed in an encode -> decode round trip");
  if (protocol::encode(again) != encoded) fail("encoding is not stable after a round trip");
}

void run_selected(std::uint8_t selector, const std::uint8_t* data, std::size_t size) {
  using protocol::MessageType;
  switch (selector) {
    case 0: check(protocol::decode_task, MessageType::task, data, size); break;
    case 1: check(protocol::decode_result, MessageType::result, data, size); break;
    case 2: check(protocol::decode_run, MessageType::run, data, size); break;
    case 3: check(protocol::decode_status, MessageType::status, data, size); break;
    case 4: check(protocol::decode_ready, MessageType::ready, data, size); break;
    case 5: check(protocol::decode_give_up, MessageType::give_up, data, size); break;
    case 6:
      check(protocol::decode_dispatch_stats, MessageType::dispatch_stats, data, size);
      break;
    case kPeekTypeSelector:
      try {
        (void)protocol::peek_type(data, size);
      } catch (const protocol::ProtocolError&) {
      }
      break;
    default: fail("decoder selector out of range");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  try {
    run_selected(data[0] % kDecoderCount, data + 1, size - 1);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "protocol_fuzz: unexpected exception: %s\n", error.what());
    std::abort();
  } catch (...) {
    fail("unexpected exception of an unknown type");
  }
  return 0;
}
