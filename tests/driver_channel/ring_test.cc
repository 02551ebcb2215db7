#include "driver_channel/ring.h"

#include <doctest/doctest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <new>
#include <thread>
#include <vector>

namespace pollstack::driver_channel {
namespace {

Descriptor numbered(std::uint32_t n) { return Descriptor{n % kBufferCount, n, n * 3, 0}; }

TEST_CASE("empty ring: nothing to pop, everything free") {
  auto shared = std::make_unique<RingShared>();
  RingProducer producer(*shared);
  RingConsumer consumer(*shared);
  Descriptor out[4];
  CHECK(consumer.available() == 0);
  CHECK(consumer.pop(out) == 0);
  CHECK(producer.free_slots() == kRingCapacity);
}

TEST_CASE("full ring: push stops at capacity, pop frees room") {
  auto shared = std::make_unique<RingShared>();
  RingProducer producer(*shared);
  RingConsumer consumer(*shared);
  std::vector<Descriptor> batch(kMaxBatch);
  std::uint32_t pushed = 0;
  for (std::uint32_t round = 0; round < kRingCapacity; ++round) {
    for (std::uint32_t i = 0; i < kMaxBatch; ++i) batch[i] = numbered(pushed + i);
    const std::uint32_t n = producer.push(batch);
    pushed += n;
    if (n == 0) break;
  }
  CHECK(pushed == kRingCapacity);
  CHECK(producer.free_slots() == 0);
  CHECK(producer.push(batch) == 0);

  Descriptor out[3];
  REQUIRE(consumer.pop(out) == 3);
  CHECK(out[0].offset == 0);
  CHECK(out[2].offset == 2);
  CHECK(producer.free_slots() == 3);
}

TEST_CASE("wrap-around keeps order across many laps, with batches of every size") {
  auto shared = std::make_unique<RingShared>();
  RingProducer producer(*shared);
  RingConsumer consumer(*shared);
  std::uint32_t next_in = 0;
  std::uint32_t next_out = 0;
  std::vector<Descriptor> batch(kMaxBatch);
  std::vector<Descriptor> out(kMaxBatch);
  int errors = 0;
  for (int step = 0; step < 20000; ++step) {
    const std::uint32_t want = 1 + static_cast<std::uint32_t>(step * 7) % kMaxBatch;
    for (std::uint32_t i = 0; i < want; ++i) batch[i] = numbered(next_in + i);
    next_in += producer.push(std::span(batch).first(want));
    const std::uint32_t take = 1 + static_cast<std::uint32_t>(step * 5) % kMaxBatch;
    const std::uint32_t got = consumer.pop(std::span(out).first(take));
    for (std::uint32_t i = 0; i < got; ++i) errors += out[i].offset != next_out + i;
    next_out += got;
  }
  CHECK(errors == 0);
  CHECK(next_out > 10 * kRingCapacity);  // many laps
  CHECK(next_in - next_out == consumer.available());
}

TEST_CASE("indices wrap past 2^32") {
  auto shared = std::make_unique<RingShared>();
  shared->produced.store(0xffffff00u);
  shared->consumed.store(0xffffff00u);
  RingProducer producer(*shared);
  RingConsumer consumer(*shared);
  std::uint32_t next_in = 0;
  std::uint32_t next_out = 0;
  Descriptor batch[kMaxBatch];
  Descriptor out[kMaxBatch];
  int errors = 0;
  for (int step = 0; step < 100; ++step) {
    for (std::uint32_t i = 0; i < kMaxBatch; ++i) batch[i] = numbered(next_in + i);
    next_in += producer.push(batch);
    const std::uint32_t got = consumer.pop(out);
    for (std::uint32_t i = 0; i < got; ++i) errors += out[i].offset != next_out + i;
    next_out += got;
  }
  CHECK(errors == 0);
  CHECK(next_out == 100 * kMaxBatch);
  CHECK(producer.fault() == RingFault::kNone);
  CHECK(consumer.fault() == RingFault::kNone);
}

TEST_CASE("a consumer index beyond what was produced is a fault, not followed") {
  auto shared = std::make_unique<RingShared>();
  RingProducer producer(*shared);
  Descriptor batch[4] = {};
  REQUIRE(producer.push(batch) == 4);
  shared->consumed.store(5);  // the peer claims to have read 5 of 4
  CHECK(producer.free_slots() == 0);
  CHECK(producer.fault() == RingFault::kConsumedTooFar);
  shared->consumed.store(4);  // a fault is final: the peer is not trusted again
  CHECK(producer.push(batch) == 0);
}

TEST_CASE("a consumer index moving backwards is a fault") {
  auto shared = std::make_unique<RingShared>();
  RingProducer producer(*shared);
  Descriptor batch[4] = {};
  REQUIRE(producer.push(batch) == 4);
  shared->consumed.store(3);
  CHECK(producer.free_slots() == kRingCapacity - 1);
  shared->consumed.store(1);
  CHECK(producer.free_slots() == 0);
  CHECK(producer.fault() == RingFault::kConsumedTooFar);
}

TEST_CASE("a producer index claiming more than the ring holds is a fault") {
  auto shared = std::make_unique<RingShared>();
  RingConsumer consumer(*shared);
  shared->produced.store(kRingCapacity + 1);
  Descriptor out[4];
  CHECK(consumer.pop(out) == 0);
  CHECK(consumer.fault() == RingFault::kProducedTooFar);
}

TEST_CASE("a producer index moving backwards is a fault") {
  auto shared = std::make_unique<RingShared>();
  RingConsumer consumer(*shared);
  shared->produced.store(10);
  Descriptor out[4];
  CHECK(consumer.pop(out) == 4);
  shared->produced.store(6);  // behind what we already saw (10), though ahead of what we read
  CHECK(consumer.available() == 0);
  CHECK(consumer.fault() == RingFault::kProducedTooFar);
}

TEST_CASE("sleep handshake: the producer sees the flag once; entries cancel the sleep") {
  auto shared = std::make_unique<RingShared>();
  RingProducer producer(*shared);
  RingConsumer consumer(*shared);
  CHECK_FALSE(producer.take_consumer_sleeping());
  CHECK(consumer.prepare_to_sleep());  // empty: may sleep
  Descriptor d[1] = {};
  REQUIRE(producer.push(d) == 1);
  CHECK(producer.take_consumer_sleeping());  // ring the doorbell
  CHECK_FALSE(producer.take_consumer_sleeping());  // only once
  CHECK_FALSE(consumer.prepare_to_sleep());  // an entry is there: do not sleep
  CHECK_FALSE(producer.take_consumer_sleeping());
}

TEST_CASE("two processes over shared memory: every descriptor arrives, in order") {
  void* memory = mmap(nullptr, sizeof(RingShared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  REQUIRE(memory != MAP_FAILED);
  auto* shared = new (memory) RingShared();
  constexpr std::uint32_t kTotal = 2'000'000;
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {  // producer process
    RingProducer producer(*shared);
    Descriptor batch[8];
    for (std::uint32_t sent = 0; sent < kTotal;) {
      for (std::uint32_t i = 0; i < 8; ++i) batch[i] = numbered(sent + i);
      sent += producer.push(std::span(batch).first(std::min<std::uint32_t>(8, kTotal - sent)));
    }
    _exit(0);
  }
  RingConsumer consumer(*shared);
  Descriptor out[kMaxBatch];
  std::uint32_t received = 0;
  std::uint32_t errors = 0;
  while (received < kTotal && consumer.fault() == RingFault::kNone) {
    const std::uint32_t got = consumer.pop(out);
    for (std::uint32_t i = 0; i < got; ++i) errors += out[i].offset != received + i;
    received += got;
  }
  int status = 0;
  waitpid(child, &status, 0);
  CHECK(received == kTotal);
  CHECK(errors == 0);
  CHECK(WIFEXITED(status));
  munmap(memory, sizeof(RingShared));
}

}  // namespace
}  // namespace pollstack::driver_channel
