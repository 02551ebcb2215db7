// The full-path comparison: ns per UDP datagram through every layer, per style (variants.h),
// transmit and receive, 64 and 1472 bytes of payload, all in one run so the ratios compare like
// with like. Each iteration is a batch of kBatch datagrams plus the in-thread driver's share of the
// work, the same for every style. Counters: allocs_per_packet (operator new and malloc, from the
// heap probe) and state_bytes (per-operation state of one send, see variants.h).
//   bazel run --config=opt //benchmarks/full_path:full_path_benchmark
// tools/full_path_report.py turns its JSON into docs/full_path.md and docs/full_path.svg.
// --iterations=N (before the benchmark flags) runs every benchmark exactly N iterations: for
// instruction counts under callgrind (tools/full_path_instructions.py), where the library's own
// iteration estimate would make counts incomparable.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#include "benchmarks/full_path/variants.h"
#include "tools/heap_probe/heap_probe.h"

namespace pollstack::full_path {
namespace {

void report(benchmark::State& state, const Variant& v, std::uint64_t packets, const heap_probe::Counts& before) {
  const heap_probe::Counts after = heap_probe::thread_counts();
  const auto allocs = static_cast<double>((after.allocations - before.allocations) + (after.mallocs - before.mallocs));
  state.SetItemsProcessed(static_cast<std::int64_t>(packets));
  state.counters["allocs_per_packet"] = allocs / static_cast<double>(packets == 0 ? 1 : packets);
  state.counters["state_bytes"] = static_cast<double>(v.send_state_bytes());
}

void transmit(benchmark::State& state, const Variant* v) {
  UdpWorld world(static_cast<std::size_t>(state.range(0)));
  std::uint64_t packets = 0;
  const heap_probe::Counts before = heap_probe::thread_counts();
  for (auto _ : state) {
    for (std::uint32_t i = 0; i < bench::kBatch; ++i) packets += v->send(world);
    world.drain_tx();
  }
  if (packets != static_cast<std::uint64_t>(state.iterations()) * bench::kBatch) state.SkipWithError("a send did not complete");
  report(state, *v, packets, before);
}

void receive(benchmark::State& state, const Variant* v) {
  UdpWorld world(static_cast<std::size_t>(state.range(0)));
  std::uint64_t packets = 0;
  const heap_probe::Counts before = heap_probe::thread_counts();
  for (auto _ : state) {
    world.inject_rx(bench::kBatch);
    packets += v->receive(world);
    benchmark::DoNotOptimize(world.receive_buffer().data());
  }
  if (packets != static_cast<std::uint64_t>(state.iterations()) * bench::kBatch) state.SkipWithError("a datagram was not received");
  report(state, *v, packets, before);
}

}  // namespace
}  // namespace pollstack::full_path

int main(int argc, char** argv) {
  using namespace pollstack::full_path;
  long iterations = 0;  // 0: the library decides
  if (argc > 1 && std::strncmp(argv[1], "--iterations=", 13) == 0) {
    char* end = nullptr;
    iterations = std::strtol(argv[1] + 13, &end, 10);
    if (*end != '\0' || iterations < 1) {
      std::fprintf(stderr, "full_path_benchmark: --iterations wants a positive count, not '%s'\n", argv[1] + 13);
      return 2;
    }
    argv[1] = argv[0];  // drop it before the library parses the rest
    ++argv;
    --argc;
  }
  for (const Variant& v : variants()) {
    for (const auto& [path, run] : {std::pair{"transmit", &transmit}, std::pair{"receive", &receive}}) {
      benchmark::internal::Benchmark* b =
          benchmark::RegisterBenchmark(("full_path/" + std::string(path) + "/" + v.name).c_str(), run, &v);
      b->Arg(64)->Arg(1472);
      if (iterations > 0) b->Iterations(iterations);
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
