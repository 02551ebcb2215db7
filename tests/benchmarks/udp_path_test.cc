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
