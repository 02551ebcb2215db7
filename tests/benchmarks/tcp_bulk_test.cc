// The TCP benchmark's world does what its figures claim: a bulk stream arrives byte for byte
// through two whole stacks with the heap forbidden (tools/heap_probe) and no retransmission, in
// full-sized segments, with 64 KiB buffers and with 256 KiB ones (whose window only window scaling
// can offer), and ends exactly after the last byte written; the 64-byte round trip echoes each
// request in one segment each way; the pattern check catches a wrong byte (in a buffer and across
// the stacks); and the wire drops nothing when the receiver has no buffer: the frames wait in the
// sender's ring.
//   bazel test //tests/benchmarks:tcp_bulk_test
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <type_traits>
#include <vector>

#include "benchmarks/tcp/stream_pattern.h"
#include "benchmarks/tcp/tcp_applications.h"
#include "benchmarks/tcp/tcp_world.h"
#include "tools/heap_probe/heap_probe.h"

namespace pollstack::bench {
namespace {

constexpr std::size_t kBuffer = 64 * 1024;
using World = TcpWorld<kBuffer>;

template <class W>
std::uint64_t retransmissions(W& world) {
  const net::TcpCounters& a = world.a().tcp().counters();
  const net::TcpCounters& b = world.b().tcp().counters();
  return a.retransmissions + a.fast_retransmits + b.retransmissions + b.fast_retransmits;
}

TEST_CASE("the pattern check finds the first wrong byte, wherever it is") {
  // Offsets and lengths that start and end inside words, and a whole-word run between.
  for (const std::uint64_t offset : {std::uint64_t{0}, std::uint64_t{5}, std::uint64_t{1} << 33}) {
    CAPTURE(offset);
    std::vector<std::byte> data(1000 + 3);
    fill_pattern(offset, data);
    CHECK_FALSE(first_mismatch(offset, data).has_value());
    // Every position: the head and tail bytes, and each lane of the vector loop.
    std::size_t missed = 0;
    for (std::size_t at = 0; at < data.size(); ++at) {
      data[at] ^= std::byte{0x40};
      missed += first_mismatch(offset, data) == std::optional<std::size_t>(at) ? 0 : 1;
      data[at] ^= std::byte{0x40};
    }
    CHECK(missed == 0);
    // The right bytes at the wrong place: a word's worth late, or a single byte.
    CHECK(first_mismatch(offset + 8, data).has_value());
    CHECK(first_mismatch(offset + 1, data).has_value());
  }
  // Generated in pieces of any size, the stream is the same as in one piece.
  std::vector<std::byte> whole(100);
  std::vector<std::byte> pieces(100);
  fill_pattern(3, whole);
  fill_pattern(3, std::span(pieces).first(7));
  fill_pattern(10, std::span(pieces).subspan(7, 50));
  fill_pattern(60, std::span(pieces).subspan(57));
  CHECK(whole == pieces);
}

// 64 KiB, the comparison point, and 256 KiB, a window only window scaling can offer.
using Buffers = std::integral_constant<std::size_t, kBuffer>;
using ScaledBuffers = std::integral_constant<std::size_t, 256 * 1024>;

TEST_CASE_TEMPLATE("a bulk stream arrives byte for byte with the heap forbidden, and ends after its last byte", B,
                   Buffers, ScaledBuffers) {
  auto world = std::make_unique<TcpWorld<B::value>>();
  REQUIRE_MESSAGE(world->failure() == nullptr, world->failure());
  auto stream = std::make_unique<BulkStream<B::value>>(*world);
  const heap_probe::Counts before = heap_probe::thread_counts();
  bool moved = false;
  {
    heap_probe::ForbidHeap no_heap;  // the stacks, the wire and both applications
    moved = stream->transfer(4 << 20);
  }
  REQUIRE_MESSAGE(moved, stream->failure() << "; " << world->describe());
  const heap_probe::Counts after = heap_probe::thread_counts();
  CHECK(after.allocations == before.allocations);
  CHECK(after.mallocs == before.mallocs);
  CHECK(stream->verified() >= 4 << 20);
  CHECK(retransmissions(*world) == 0);
  // The window B offers A is past 64 KiB exactly when its buffer is: window scaling is on. (A
  // 64 KiB buffer scales by 1 to offer its last byte: 65,536 when B has read everything.)
  const std::optional<typename TcpWorld<B::value>::Tcp::Info> a = world->a().tcp().info(world->client());
  REQUIRE(a.has_value());
  CHECK((a->snd_wnd > 65536) == (B::value > 65536));
  // Full-sized segments: the writer keeps the send buffer full.
  const std::uint64_t data_segments = world->a().tcp().counters().segments_sent;
  CHECK(data_segments < stream->verified() / 1400);
  REQUIRE_MESSAGE(stream->finish(), stream->failure() << "; " << world->describe());
  CHECK(stream->verified() == stream->written());
  MESSAGE((B::value / 1024) << " KiB: " << stream->verified() << " bytes in " << data_segments << " data segments; "
                          << world->b().tcp().counters().segments_sent << " segments back; " << stream->pauses()
                          << " pauses over 1 ms, the longest " << stream->longest_pause().count()
                          << " us; the thread descheduled " << stream->descheduled() << " times");
}

TEST_CASE("a wrong byte sent is caught by the reader, at its offset") {
  auto world = std::make_unique<World>();
  REQUIRE(world->failure() == nullptr);
  auto stream = std::make_unique<BulkStream<kBuffer>>(*world);
  constexpr std::uint64_t kWrong = 300'001;
  stream->corrupt_byte_at(kWrong);
  CHECK_FALSE(stream->transfer(1 << 20));
  CHECK(stream->mismatch() == std::optional<std::uint64_t>(kWrong));
  CHECK(stream->verified() <= kWrong);
}

TEST_CASE("64-byte round trips echo every request, with the heap forbidden") {
  auto world = std::make_unique<World>();
  REQUIRE(world->failure() == nullptr);
  auto exchange = std::make_unique<RoundTrip<kBuffer>>(*world);
  const std::uint64_t segments_before =
      world->a().tcp().counters().segments_sent + world->b().tcp().counters().segments_sent;
  bool all = true;
  {
    heap_probe::ForbidHeap no_heap;
    for (int i = 0; i < 1000 && all; ++i) all = exchange->once();
  }
  REQUIRE_MESSAGE(all, exchange->failure() << "; " << world->describe());
  CHECK(exchange->exchanges() == 1000);
  // Nagle is off and each answer carries its request's ACK: one segment each way.
  const std::uint64_t segments =
      world->a().tcp().counters().segments_sent + world->b().tcp().counters().segments_sent - segments_before;
  CHECK(segments == 2000);
  CHECK(retransmissions(*world) == 0);
}

// Frames the stack sends straight into its channel, as the layers do, numbered in the first
// payload byte after the Ethernet header.
void send_numbered(driver_channel::StackChannel& channel, int count, int& number) {
  for (int i = 0; i < count; ++i) {
    std::optional<driver_channel::ChannelResult<driver_channel::TxBuffer>> buffer = channel.try_reserve_tx();
    REQUIRE(buffer.has_value());
    REQUIRE(buffer->ok());
    std::span<std::byte> bytes = buffer->value().bytes();
    bytes[14] = static_cast<std::byte>(number);
    bytes[15] = static_cast<std::byte>(number >> 8);
    ++number;
    REQUIRE(buffer->value().submit(60));
  }
}

TEST_CASE("the wire drops nothing: without a free receive buffer a frame waits in the sender's ring") {
  Wire wire;
  constexpr int kBuffers = static_cast<int>(driver_channel::kRxFillBuffers);  // B lends its driver this many
  int sent = 0;
  send_numbered(wire.channel_a(), kBuffers, sent);
  CHECK(wire.carry() == static_cast<std::uint32_t>(kBuffers));  // every buffer B lent is full now
  send_numbered(wire.channel_a(), 10, sent);  // A has its buffers back: 10 more
  CHECK(wire.carry() == 0);                  // they wait in A's ring...
  CHECK(wire.a_to_b().out_of_buffers > 0);
  int received = 0;
  const auto take = [&](int most) {
    for (int i = 0; i < most; ++i) {
      std::optional<driver_channel::ChannelResult<driver_channel::RxBuffer>> frame = wire.channel_b().try_receive();
      if (!frame) break;
      REQUIRE(frame->ok());
      const std::span<const std::byte> bytes = frame->value().bytes();
      CHECK(bytes.size() == 60);
      CHECK(static_cast<int>(bytes[14]) + (static_cast<int>(bytes[15]) << 8) == received);  // in order
      ++received;
    }  // each frame's buffer goes back to B's driver: the wire's to fill again
  };
  take(4);
  CHECK(wire.carry() == 4);  // ...until B gives buffers back: as many as it gave
  take(kBuffers);
  CHECK(received == kBuffers + 4);
  CHECK(wire.carry() == 6);
  take(kBuffers);
  CHECK(received == sent);
  CHECK(wire.a_to_b().frames == static_cast<std::uint64_t>(sent));
}

}  // namespace
}  // namespace pollstack::bench
