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

}  // namespace
}  // namespace pollstack::bench
