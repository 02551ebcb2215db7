// The two variants of the UDP path benchmark do the same work: the same bytes on the wire (but
// for the IPv4 identification, which counts up, and the header checksum covering it) and the same
// datagrams delivered. Otherwise the comparison would measure different things.
#include "benchmarks/udp_path/udp_paths.h"

#include <doctest/doctest.h>

#include <vector>

namespace pollstack::bench {
namespace {

std::vector<std::byte> sent_by(UdpWorld& world, std::uint32_t (*send)(UdpWorld&)) {
  REQUIRE(send(world) == 1);
  std::vector<std::byte> frame;
  REQUIRE(world.drain_tx(&frame) == 1);
  // Blank the identification (bytes 18-19) and the header checksum (24-25).
  for (std::size_t at : {18, 19, 24, 25}) frame.at(at) = std::byte{0};
  return frame;
}

TEST_CASE("both transmit variants put the same frame on the wire") {
  for (std::size_t size : {std::size_t{64}, std::size_t{1472}}) {
    CAPTURE(size);
    UdpWorld world(size);
    const std::vector<std::byte> sync = sent_by(world, &sync_send);
    const std::vector<std::byte> machine = sent_by(world, &state_machine_send);
    CHECK(sync.size() == 14 + 20 + 8 + size);
    CHECK(sync == machine);
  }
}

TEST_CASE("both receive variants deliver every datagram, byte for byte") {
  for (std::size_t size : {std::size_t{64}, std::size_t{1472}}) {
    CAPTURE(size);
    UdpWorld world(size);
    for (auto receive : {&sync_receive, &state_machine_receive}) {
      world.inject_rx(kBatch);
      CHECK(receive(world) == kBatch);
      CHECK(std::equal(world.payload().begin(), world.payload().end(), world.receive_buffer().begin()));
      CHECK(world.stack().udp().queued(world.socket()) == 0);
    }
    CHECK(world.channel().ledger().free_count() + driver_channel::kRxFillBuffers == driver_channel::kBufferCount);
  }
}

TEST_CASE("a batch of sends puts the same frames on the wire, handed over when the batch ends") {
  for (std::size_t size : {std::size_t{64}, std::size_t{1472}}) {
    CAPTURE(size);
    UdpWorld world(size);
    const std::vector<std::byte> single = sent_by(world, &state_machine_send);
    REQUIRE(state_machine_send_batch(world) == kBatch);
    std::vector<std::byte> last;
    REQUIRE(world.drain_tx(&last) == kBatch);
    for (std::size_t at : {18, 19, 24, 25}) last.at(at) = std::byte{0};
    CHECK(last == single);
  }
}

// The interface task holds a channel batch for each poll: an answer it sends reaches the driver
// when the poll returns, with nobody calling service().
TEST_CASE("the interface task hands its answers to the driver when its poll ends") {
  UdpWorld world(64);
  std::vector<std::byte> to_closed_port(world.peer_frame().begin(), world.peer_frame().end());
  constexpr std::size_t kUdp = 14 + 20;
  to_closed_port.at(kUdp + 2) = std::byte{0x1e};  // destination port 7777: nobody bound
  to_closed_port.at(kUdp + 3) = std::byte{0x61};
  to_closed_port.at(kUdp + 6) = to_closed_port.at(kUdp + 7) = std::byte{0};  // no UDP checksum (IPv4)
  world.inject_frame(to_closed_port);
  const Waker noop;
  Context cx(noop, world.now(), world.deadline());
  CHECK(world.task().poll(cx).is_pending());
  std::vector<std::byte> answer;
  REQUIRE(world.drain_tx(&answer) == 1);  // taken straight from the ring
  CHECK(answer.at(14 + 9) == std::byte{1});  // ICMP
  CHECK(answer.at(14 + 20) == std::byte{3});  // destination unreachable
}

// lwIP's side of the comparison does the same work: a frame that differs from ours only where
// the two stacks choose differently (named below), and every datagram delivered byte for byte.
TEST_CASE("lwIP's transmit puts the same datagram on the wire") {
  for (std::size_t size : {std::size_t{64}, std::size_t{1472}}) {
    CAPTURE(size);
    UdpWorld ours(size);
    std::vector<std::byte> expected = sent_by(ours, &sync_send);
    LwipWorld lwip(ours);
    for (std::uint32_t i = 0; i < kBatch; ++i) REQUIRE(lwip_send(lwip) == 1);
    std::vector<std::byte> frame;
    REQUIRE(lwip.drain_tx(&frame) == kBatch);
    REQUIRE(frame.size() == expected.size());
    // Blank what the stacks choose differently: the identification and header checksum (above),
    // the flags (we set Don't Fragment, as Linux does for UDP with path MTU discovery; lwIP does
    // not), the TTL (64, Linux's; lwIP's default 255).
    for (std::size_t at : {18, 19, 20, 22, 24, 25}) frame.at(at) = expected.at(at) = std::byte{0};
    CHECK(frame == expected);
  }
}

TEST_CASE("lwIP's receive delivers every datagram, byte for byte") {
  for (std::size_t size : {std::size_t{64}, std::size_t{1472}}) {
    CAPTURE(size);
    const UdpWorld ours(size);
    LwipWorld lwip(ours);
    for (int round = 0; round < 3; ++round) {
      lwip.inject_rx(kBatch);
      CHECK(lwip_receive(lwip) == kBatch);
      CHECK(lwip.drain_tx() == 0);  // nothing answered: the datagram was for the bound port
      const std::span<const std::byte> got = lwip.received();
      CHECK(std::equal(got.begin(), got.end(), ours.payload().begin(), ours.payload().end()));
    }
  }
}

}  // namespace
}  // namespace pollstack::bench
