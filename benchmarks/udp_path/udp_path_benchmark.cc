// ns per UDP datagram through every layer over the in-process driver channel: transmit and
// receive, 64 and 1472 bytes of payload, the state-machine path beside the plain synchronous one
// (see udp_paths.h). Each iteration is a batch of kBatch datagrams plus the driver's share of work
// (taking the sent frames, or delivering the received ones), the same for both variants. Counters:
// ns_per_packet, allocs_per_packet (operator new and malloc, from the heap probe).
//   bazel run --config=opt //benchmarks/udp_path:udp_path_benchmark
#include <benchmark/benchmark.h>

#include "benchmarks/udp_path/udp_paths.h"
#include "tools/heap_probe/heap_probe.h"

namespace pollstack::bench {
namespace {

using PathFn = std::uint32_t (*)(UdpWorld&);

void report(benchmark::State& state, std::uint64_t packets, const heap_probe::Counts& before) {
  const heap_probe::Counts after = heap_probe::thread_counts();
  const auto allocs = static_cast<double>((after.allocations - before.allocations) + (after.mallocs - before.mallocs));
  state.SetItemsProcessed(static_cast<std::int64_t>(packets));
  state.counters["ns_per_packet"] =
      benchmark::Counter(static_cast<double>(packets), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["allocs_per_packet"] = allocs / static_cast<double>(packets == 0 ? 1 : packets);
}

void transmit(benchmark::State& state, PathFn send) {
  UdpWorld world(static_cast<std::size_t>(state.range(0)));
  std::uint64_t packets = 0;
  const heap_probe::Counts before = heap_probe::thread_counts();
  for (auto _ : state) {
    for (std::uint32_t i = 0; i < kBatch; ++i) packets += send(world);
    world.drain_tx();
  }
  if (packets != static_cast<std::uint64_t>(state.iterations()) * kBatch) state.SkipWithError("a send did not complete");
  report(state, packets, before);
}

void receive(benchmark::State& state, PathFn receive_batch) {
  UdpWorld world(static_cast<std::size_t>(state.range(0)));
  std::uint64_t packets = 0;
  const heap_probe::Counts before = heap_probe::thread_counts();
  for (auto _ : state) {
    world.inject_rx(kBatch);
    packets += receive_batch(world);
    benchmark::DoNotOptimize(world.receive_buffer().data());
  }
  if (packets != static_cast<std::uint64_t>(state.iterations()) * kBatch) state.SkipWithError("a datagram was not received");
  report(state, packets, before);
}

void BM_UdpTransmit_StateMachine(benchmark::State& s) { transmit(s, &state_machine_send); }
void BM_UdpTransmit_Sync(benchmark::State& s) { transmit(s, &sync_send); }
void BM_UdpReceive_StateMachine(benchmark::State& s) { receive(s, &state_machine_receive); }
void BM_UdpReceive_Sync(benchmark::State& s) { receive(s, &sync_receive); }

BENCHMARK(BM_UdpTransmit_Sync)->Arg(64)->Arg(1472);
BENCHMARK(BM_UdpTransmit_StateMachine)->Arg(64)->Arg(1472);
BENCHMARK(BM_UdpReceive_Sync)->Arg(64)->Arg(1472);
BENCHMARK(BM_UdpReceive_StateMachine)->Arg(64)->Arg(1472);

}  // namespace
}  // namespace pollstack::bench

BENCHMARK_MAIN();
