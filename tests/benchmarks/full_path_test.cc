// Every style of the UDP paths does the same work: the same bytes on the wire (but for the IPv4
// identification, which counts up, and the header checksum covering it), every datagram
// delivered, no buffer kept, and a send into a full channel waits (woken by the channel's waker)
// instead of dropping. Allocations per send: none where the style promises none.
#include "benchmarks/full_path/variants.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tools/heap_probe/heap_probe.h"

namespace pollstack::full_path {
namespace {

std::vector<std::byte> sent_by(UdpWorld& world, const Variant& v) {
  REQUIRE(v.send(world) == 1);
  std::vector<std::byte> frame;
  REQUIRE(world.drain_tx(&frame) == 1);
  for (std::size_t at : {18, 19, 24, 25}) frame.at(at) = std::byte{0};  // identification, checksum
  return frame;
}

TEST_CASE("every variant puts the same frame on the wire as the synchronous path") {
  for (std::size_t size : {std::size_t{64}, std::size_t{1472}}) {
    UdpWorld world(size);
    const std::vector<std::byte> reference = sent_by(world, variants()[0]);
    CHECK(reference.size() == 14 + 20 + 8 + size);
    for (const Variant& v : variants()) {
      CAPTURE(v.name);
      CAPTURE(size);
      CHECK(sent_by(world, v) == reference);
    }
  }
}

TEST_CASE("every variant delivers every datagram, byte for byte, and keeps no buffer") {
  for (const Variant& v : variants()) {
    CAPTURE(v.name);
    UdpWorld world(100);
    for (int round = 0; round < 3; ++round) {
      world.inject_rx(bench::kBatch);
      CHECK(v.receive(world) == bench::kBatch);
      CHECK(std::equal(world.payload().begin(), world.payload().end(), world.receive_buffer().begin()));
    }
    CHECK(world.channel().ledger().free_count() + driver_channel::kRxFillBuffers == driver_channel::kBufferCount);
  }
}

TEST_CASE("every variant's read waits on the empty socket and the delivery wakes it") {
  for (const Variant& v : variants()) {
    CAPTURE(v.name);
    UdpWorld world(64);
    const bool waits = std::string_view(v.name) != "sync";  // a synchronous read cannot wait
    for (int round = 1; round <= 3; ++round) {
      world.inject_rx(bench::kBatch);
      CHECK(v.receive(world) == bench::kBatch);
      CHECK(world.read_wakes() == (waits ? round : 0));  // once per batch: its first read
    }
    // Nothing delivered: the read gives up (no hang), and its registration, left in the socket,
    // is harmless: the next batch is read in full.
    CHECK(v.receive(world) == 0);
    world.inject_rx(3);
    CHECK(v.receive(world) == 3);
    CHECK(world.channel().ledger().free_count() + driver_channel::kRxFillBuffers == driver_channel::kBufferCount);
  }
}

TEST_CASE("into a full channel every variant waits, is woken, and sends: nothing is dropped") {
  for (const Variant& v : variants()) {
    CAPTURE(v.name);
    UdpWorld world(64);
    REQUIRE(world.fill_tx() > 0);
    CHECK(v.send(world) == 1);  // its wait loop gives the buffers back (wait_for_driver) and is woken
    std::vector<std::byte> frame;
    CHECK(world.drain_tx(&frame) == 1);
    CHECK(frame.size() == 14 + 20 + 8 + 64);
    if (std::string_view(v.name) != "sync") {
      CHECK(world.channel().counters().tx_pending >= 1);  // it did wait on the channel's waker
    }
  }
}

TEST_CASE("allocations per send and per received datagram, per variant") {
  for (const Variant& v : variants()) {
    CAPTURE(v.name);
    UdpWorld world(64);
    v.send(world);  // warm up (the arena, lazily created thread state)
    world.drain_tx();
    const heap_probe::Counts before = heap_probe::thread_counts();
    v.send(world);
    const heap_probe::Counts after_send = heap_probe::thread_counts();
    world.drain_tx();
    world.inject_rx(1);
    const heap_probe::Counts before_receive = heap_probe::thread_counts();
    CHECK(v.receive(world) == 1);
    const heap_probe::Counts after_receive = heap_probe::thread_counts();
    const std::uint64_t send_allocs = after_send.allocations - before.allocations;
    const std::uint64_t receive_allocs = after_receive.allocations - before_receive.allocations;
    const std::string_view name = v.name;
    if (name == "coroutine") {
      CHECK(send_allocs == 4);     // one frame per layer
      // the reader, two reads (the second finds the socket empty), the input batch, three inputs
      CHECK(receive_allocs == 7);
    } else if (name == "boxed") {
      CHECK(send_allocs == 4);     // one box per layer
      CHECK(receive_allocs == 5);  // two reads (the second finds the socket empty), three inputs
    } else {
      CHECK(send_allocs == 0);
      CHECK(receive_allocs == 0);
    }
    CHECK(after_receive.mallocs == before.mallocs);
    MESSAGE(std::string(v.name), ": ", v.send_state_bytes(), " bytes of state per send");
  }
}

}  // namespace
}  // namespace pollstack::full_path
