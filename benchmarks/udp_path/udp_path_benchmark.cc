// ns per UDP datagram through every layer over the in-process driver channel: transmit and
// receive, 64 and 1472 bytes of payload, the state-machine path beside the plain synchronous one
// (see udp_paths.h), and lwIP 2.1.3 (Debian's liblwip, raw API) doing the same work in the same run.
// Each iteration is a batch of kBatch datagrams plus the driver's share of work
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

// `World` is UdpWorld (our stack) or LwipWorld: the same batches, the same driver's share.
template <class World>
void transmit(benchmark::State& state, World& world, std::uint32_t (*send)(World&)) {
  std::uint64_t packets = 0;
  const heap_probe::Counts before = heap_probe::thread_counts();
  for (auto _ : state) {
    for (std::uint32_t i = 0; i < kBatch; ++i) packets += send(world);
    world.drain_tx();
  }
  if (packets != static_cast<std::uint64_t>(state.iterations()) * kBatch) state.SkipWithError("a send did not complete");
  report(state, packets, before);
}

template <class World>
void receive(benchmark::State& state, World& world, std::uint32_t (*receive_batch)(World&)) {
  std::uint64_t packets = 0;
  const heap_probe::Counts before = heap_probe::thread_counts();
  for (auto _ : state) {
    world.inject_rx(kBatch);
    packets += receive_batch(world);
    benchmark::ClobberMemory();  // the datagrams copied into the application's buffer
  }
  if (packets != static_cast<std::uint64_t>(state.iterations()) * kBatch) state.SkipWithError("a datagram was not received");
  report(state, packets, before);
}

std::size_t payload_bytes(const benchmark::State& state) { return static_cast<std::size_t>(state.range(0)); }

void ours(benchmark::State& state, void (*path)(benchmark::State&, UdpWorld&, PathFn), PathFn variant) {
  UdpWorld world(payload_bytes(state));
  path(state, world, variant);
}

// lwIP: the same payload, addresses and peer frame as ours (taken from a UdpWorld); its driver's
// share copies frames out of and into pbufs.
void lwip(benchmark::State& state, void (*path)(benchmark::State&, LwipWorld&, std::uint32_t (*)(LwipWorld&)),
          std::uint32_t (*variant)(LwipWorld&)) {
  const UdpWorld same_work(payload_bytes(state));
  LwipWorld world(same_work);
  path(state, world, variant);
}

void BM_UdpTransmit_StateMachine(benchmark::State& s) { ours(s, &transmit<UdpWorld>, &state_machine_send); }
void BM_UdpTransmit_Sync(benchmark::State& s) { ours(s, &transmit<UdpWorld>, &sync_send); }
void BM_UdpTransmit_Lwip(benchmark::State& s) { lwip(s, &transmit<LwipWorld>, &lwip_send); }
// Batched: kBatch datagrams per call of the path (one channel batch around them).
template <class World>
void transmit_batched(benchmark::State& state, World& world, std::uint32_t (*send_batch)(World&)) {
  std::uint64_t packets = 0;
  const heap_probe::Counts before = heap_probe::thread_counts();
  for (auto _ : state) {
    packets += send_batch(world);
    world.drain_tx();
  }
  if (packets != static_cast<std::uint64_t>(state.iterations()) * kBatch) state.SkipWithError("a send did not complete");
  report(state, packets, before);
}
void BM_UdpTransmitBatched_StateMachine(benchmark::State& s) {
  ours(s, &transmit_batched<UdpWorld>, &state_machine_send_batch);
}
void BM_UdpReceiveBatched_StateMachine(benchmark::State& s) {
  ours(s, &receive<UdpWorld>, &state_machine_receive_batch);
}
void BM_UdpReceive_StateMachine(benchmark::State& s) { ours(s, &receive<UdpWorld>, &state_machine_receive); }
void BM_UdpReceive_Sync(benchmark::State& s) { ours(s, &receive<UdpWorld>, &sync_receive); }
void BM_UdpReceive_Lwip(benchmark::State& s) { lwip(s, &receive<LwipWorld>, &lwip_receive); }

BENCHMARK(BM_UdpTransmit_Sync)->Arg(64)->Arg(1472);
BENCHMARK(BM_UdpTransmit_StateMachine)->Arg(64)->Arg(1472);
BENCHMARK(BM_UdpReceive_Sync)->Arg(64)->Arg(1472);
BENCHMARK(BM_UdpReceive_StateMachine)->Arg(64)->Arg(1472);
BENCHMARK(BM_UdpTransmitBatched_StateMachine)->Arg(64)->Arg(1472);
BENCHMARK(BM_UdpReceiveBatched_StateMachine)->Arg(64)->Arg(1472);
BENCHMARK(BM_UdpTransmit_Lwip)->Arg(64)->Arg(1472);
BENCHMARK(BM_UdpReceive_Lwip)->Arg(64)->Arg(1472);

}  // namespace
}  // namespace pollstack::bench

BENCHMARK_MAIN();
