// The driver channel's rings across a real process boundary (the consumer is a forked child):
//  - channel_throughput/<mode>/<batch>: descriptors per second one way, producer in this process,
//    consumer in the child; mode busy_poll (the consumer spins) or doorbell (the consumer sleeps on
//    an eventfd when the ring is empty and the producer rings only then); batch 1, 8, 32.
//    Counter doorbells_per_descriptor: how often the producer had to make the system call.
//  - channel_wakeup_round_trip: both sides asleep; one descriptor there and one back, each side
//    woken by its doorbell. Half of it is the wake-up latency.
#include <benchmark/benchmark.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <new>

#include "driver_channel/doorbell.h"
#include "driver_channel/ring.h"

namespace pollstack::driver_channel {
namespace {

// Shared between the two processes: two rings (there and back) and a stop flag.
struct SharedBench {
  RingShared there;
  RingShared back;
  alignas(kCacheLineBytes) std::atomic<std::uint32_t> stop{0};
  alignas(kCacheLineBytes) std::atomic<std::uint64_t> consumed{0};
};

SharedBench* map_shared() {
  void* memory = mmap(nullptr, sizeof(SharedBench), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  return memory == MAP_FAILED ? nullptr : new (memory) SharedBench();
}

enum Mode : int { kBusyPoll = 0, kDoorbell = 1 };

// The child: consumes `there` until told to stop, publishing its count.
[[noreturn]] void consume(SharedBench* shared, Mode mode, Doorbell& bell) {
  RingConsumer consumer(shared->there);
  Descriptor out[kMaxBatch];
  std::uint64_t consumed = 0;
  while (shared->stop.load(std::memory_order_acquire) == 0) {
    const std::uint32_t n = consumer.pop(out);
    if (n > 0) {
      consumed += n;
      shared->consumed.store(consumed, std::memory_order_release);
      continue;
    }
    if (mode == kDoorbell && consumer.prepare_to_sleep()) bell.wait(10);
  }
  _exit(0);
}

void channel_throughput(benchmark::State& state) {
  const auto mode = static_cast<Mode>(state.range(0));
  const auto batch = static_cast<std::uint32_t>(state.range(1));
  SharedBench* shared = map_shared();
  Doorbell bell;
  if (shared == nullptr || bell.fd() < 0) {
    state.SkipWithError("cannot map shared memory or create an eventfd");
    return;
  }
  const pid_t child = fork();
  if (child == 0) consume(shared, mode, bell);

  RingProducer producer(shared->there);
  Descriptor descriptors[kMaxBatch] = {};
  std::uint64_t produced = 0;
  std::uint64_t doorbells = 0;
  for (auto _ : state) {
    std::uint32_t pushed = 0;
    while (pushed < batch) {  // a full ring: spin until the consumer makes room
      pushed += producer.push(std::span(descriptors).first(batch - pushed));
    }
    produced += batch;
    if (mode == kDoorbell && producer.take_consumer_sleeping()) {
      bell.ring();
      ++doorbells;
    }
  }
  // Throughput counts only what the other process actually consumed: wait for it.
  while (shared->consumed.load(std::memory_order_acquire) < produced) {
    if (mode == kDoorbell) bell.ring();
  }
  shared->stop.store(1, std::memory_order_release);
  bell.ring();
  waitpid(child, nullptr, 0);
  munmap(shared, sizeof(SharedBench));

  state.SetItemsProcessed(static_cast<std::int64_t>(produced));
  state.counters["doorbells_per_descriptor"] =
      benchmark::Counter(static_cast<double>(doorbells) / static_cast<double>(produced ? produced : 1));
}

BENCHMARK(channel_throughput)
    ->ArgNames({"doorbell", "batch"})
    ->ArgsProduct({{kBusyPoll, kDoorbell}, {1, 8, 32}})
    ->UseRealTime();

// The child: sleeps until a descriptor arrives, answers it at once, sleeps again.
[[noreturn]] void echo(SharedBench* shared, Doorbell& to_child, Doorbell& to_parent) {
  RingConsumer there(shared->there);
  RingProducer back(shared->back);
  Descriptor d[1];
  while (shared->stop.load(std::memory_order_acquire) == 0) {
    if (there.pop(d) == 1) {
      back.push(d);
      if (back.take_consumer_sleeping()) to_parent.ring();
      continue;
    }
    if (there.prepare_to_sleep()) to_child.wait(100);
  }
  _exit(0);
}

void channel_wakeup_round_trip(benchmark::State& state) {
  SharedBench* shared = map_shared();
  Doorbell to_child;
  Doorbell to_parent;
  if (shared == nullptr || to_child.fd() < 0 || to_parent.fd() < 0) {
    state.SkipWithError("cannot map shared memory or create an eventfd");
    return;
  }
  const pid_t child = fork();
  if (child == 0) echo(shared, to_child, to_parent);

  RingProducer there(shared->there);
  RingConsumer back(shared->back);
  Descriptor d[1] = {};
  std::uint64_t sleeps = 0;
  for (auto _ : state) {
    there.push(d);
    if (there.take_consumer_sleeping()) to_child.ring();
    while (back.pop(d) == 0) {  // sleep until the answer's doorbell
      if (back.prepare_to_sleep()) {
        to_parent.wait(100);
        ++sleeps;
      }
    }
  }
  shared->stop.store(1, std::memory_order_release);
  to_child.ring();
  waitpid(child, nullptr, 0);
  munmap(shared, sizeof(SharedBench));
  state.counters["parent_sleeps_per_round_trip"] =
      benchmark::Counter(static_cast<double>(sleeps) / static_cast<double>(state.iterations()));
}

BENCHMARK(channel_wakeup_round_trip)->UseRealTime();

}  // namespace
}  // namespace pollstack::driver_channel

BENCHMARK_MAIN();
