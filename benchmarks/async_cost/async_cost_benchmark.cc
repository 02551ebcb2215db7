// The async-cost microbenchmark: the same 31-call tree as plain functions, hand-written poll state
// machines, heap and arena coroutines, and boxed (async_trait-style) poll objects. Each iteration
// runs one whole tree of the next variant in a fixed scrambled order of the 512, so the reported
// time per iteration is ns per tree. async_cost_hot/* repeats a single variant instead. tools/async_cost_table.py turns the JSON into the table.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <utility>

#include "benchmarks/async_cost/variants.h"
#include "tools/heap_probe/heap_probe.h"

namespace pollstack::async_cost {
namespace {

// A fixed permutation of the variants (Fisher-Yates driven by splitmix64), computed at compile
// time: every run calls them in the same order, which no predictor can learn in 512 steps.
constexpr std::array<std::uint16_t, kVariants> scrambled_order() {
  std::array<std::uint16_t, kVariants> order{};
  for (std::size_t i = 0; i < kVariants; ++i) order[i] = static_cast<std::uint16_t>(i);
  std::uint64_t seed = 0x5eed;
  for (std::size_t i = kVariants - 1; i > 0; --i) {
    seed = splitmix64(seed);
    std::swap(order[i], order[seed % (i + 1)]);
  }
  return order;
}
constexpr auto kOrder = scrambled_order();

TreeTable scrambled(const TreeTable& table) {
  TreeTable out{};
  for (std::size_t i = 0; i < kVariants; ++i) out[i] = table[kOrder[i]];
  return out;
}

// Bytes of state one tree needs: for heap and arena variants the peak of live frames/objects
// while a tree runs, measured once per variant outside the timed loop.
struct StateBytes {
  double value;
};

StateBytes peak_state_bytes(const TreeTable& table, bool arena) {
  std::size_t peak = 0;
  for (TreeFn tree : table) {
    if (arena) {
      FrameArena::current().reset_statistics();
      benchmark::DoNotOptimize(tree(1));
      peak = std::max(peak, FrameArena::current().high_water_bytes());
    } else {
      heap_probe::reset_peak();
      const std::uint64_t live_before = heap_probe::thread_counts().live_bytes;
      benchmark::DoNotOptimize(tree(1));
      peak = std::max<std::size_t>(peak, heap_probe::thread_counts().peak_live_bytes - live_before);
    }
  }
  return StateBytes{static_cast<double>(peak)};
}

// `rotation`: how many variants the loop cycles through. kVariants is the benchmark proper; 1 runs
// one variant over and over (hot caches, perfectly predictable branches), for comparison.
void run_trees(benchmark::State& state, const TreeTable& table, std::size_t rotation,
               StateBytes state_bytes) {
  const TreeTable order = scrambled(table);
  std::uint64_t input = 0x1234;
  std::size_t next = 0;
  const heap_probe::Counts before = heap_probe::thread_counts();
  const std::uint64_t arena_failures_before = FrameArena::current().failures();

  for (auto _ : state) {
    benchmark::DoNotOptimize(input);  // opaque input: no variant can fold to a constant
    std::uint64_t result = order[next](input);
    benchmark::DoNotOptimize(result);
    if (++next == rotation) next = 0;
  }

  const heap_probe::Counts after = heap_probe::thread_counts();
  const double trees = static_cast<double>(state.iterations());
  state.counters["allocs_per_tree"] = static_cast<double>(after.allocations - before.allocations) / trees;
  state.counters["heap_bytes_per_tree"] = static_cast<double>(after.bytes - before.bytes) / trees;
  state.counters["state_bytes"] = state_bytes.value;
  if (FrameArena::current().failures() != arena_failures_before) {
    state.SkipWithError("frame arena exhausted: results are meaningless");
  }
}

void register_all() {
  struct Variant {
    const char* name;
    const TreeTable* table;
    StateBytes state_bytes;
  };
  const Variant variants[] = {
      {"sync", &kSyncTrees, StateBytes{0}},
      {"state_machine", &kStateMachineTrees, StateBytes{static_cast<double>(kStateMachineTreeBytes)}},
      {"coroutine", &kCoroutineTrees, peak_state_bytes(kCoroutineTrees, false)},
      {"arena_coroutine", &kArenaCoroutineTrees, peak_state_bytes(kArenaCoroutineTrees, true)},
      {"boxed", &kBoxedTrees, peak_state_bytes(kBoxedTrees, false)},
  };
  for (const auto& [prefix, rotation] : {std::pair{"async_cost/", kVariants}, std::pair{"async_cost_hot/", std::size_t{1}}}) {
    for (const Variant& v : variants) {
      benchmark::RegisterBenchmark((std::string(prefix) + v.name).c_str(),
                                   [table = v.table, rotation, bytes = v.state_bytes](benchmark::State& s) {
                                     run_trees(s, *table, rotation, bytes);
                                   });
    }
  }
}

}  // namespace
}  // namespace pollstack::async_cost

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  pollstack::async_cost::register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
