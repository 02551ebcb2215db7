// The five implementations of the async-cost tree must be the same computation: every variant,
// several inputs, all agree with each other and with an independent reference. Allocation counts
// per tree are checked too, since the benchmark reports them.
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <vector>

#include "benchmarks/async_cost/frame_arena.h"
#include "benchmarks/async_cost/variants.h"
#include "tools/heap_probe/heap_probe.h"

namespace pollstack::async_cost {
namespace {

// The tree evaluated bottom-up with an explicit array: shares no code path with the variants
// except the leaf and combine arithmetic.
std::uint64_t reference_tree(unsigned variant, std::uint64_t input) {
  const std::uint64_t k = variant_constant(variant);
  std::vector<std::uint64_t> level(kLeavesPerTree);
  for (unsigned leaf = 0; leaf < kLeavesPerTree; ++leaf) level[leaf] = leaf_value(input, leaf, k);
  while (level.size() > 1) {
    std::vector<std::uint64_t> up(level.size() / 2);
    for (std::size_t i = 0; i < up.size(); ++i) up[i] = combine(level[2 * i], level[2 * i + 1], k);
    level = up;
  }
  return level[0];
}

struct Implementation {
  const char* name;
  const TreeTable* table;
  std::uint64_t heap_allocations_per_tree;
};

const Implementation kImplementations[] = {
    {"sync", &kSyncTrees, 0},
    {"state_machine", &kStateMachineTrees, 0},
    {"coroutine", &kCoroutineTrees, kNodesPerTree},  // one frame per call
    {"arena_coroutine", &kArenaCoroutineTrees, 0},
    {"boxed", &kBoxedTrees, kNodesPerTree},  // one box per call
};

TEST_CASE("every implementation agrees with the reference on every variant") {
  const std::uint64_t inputs[] = {0, 1, 0x1234, 0xdeadbeefcafef00dULL, ~std::uint64_t{0}};
  for (const Implementation& impl : kImplementations) {
    CAPTURE(impl.name);
    int mismatches = 0;
    for (unsigned v = 0; v < kVariants; ++v) {
      for (std::uint64_t input : inputs) {
        if ((*impl.table)[v](input) != reference_tree(v, input)) ++mismatches;
      }
    }
    CHECK(mismatches == 0);
  }
}

TEST_CASE("variants really differ") {
  // Different constants must give different trees, or the 512 copies could be merged.
  CHECK(kSyncTrees[0](7) != kSyncTrees[1](7));
  CHECK(kSyncTrees[1](7) != kSyncTrees[kVariants - 1](7));
  CHECK(kSyncTrees[3](7) != kSyncTrees[3](8));
}

TEST_CASE("heap allocations per tree are as reported") {
  for (const Implementation& impl : kImplementations) {
    CAPTURE(impl.name);
    const heap_probe::Counts before = heap_probe::thread_counts();
    (void)(*impl.table)[kVariants - 1](99);
    const heap_probe::Counts after = heap_probe::thread_counts();
    CHECK(after.allocations - before.allocations == impl.heap_allocations_per_tree);
    CHECK(after.live_bytes == before.live_bytes);  // nothing leaked
  }
}

TEST_CASE("the state machine tree is one fixed-size object") {
  // 16 leaves (input, index, state) and 15 inner nodes (left value, state), no pointers.
  CHECK(kStateMachineTreeBytes >= kLeavesPerTree * 12 + (kNodesPerTree - kLeavesPerTree) * 8);
  CHECK(kStateMachineTreeBytes <= 1024);
}

TEST_CASE("arena coroutines: frames come from the arena and are all returned") {
  alignas(FrameArena::kAlignment) std::byte storage[8192];
  FrameArena arena{std::span<std::byte>(storage)};
  FrameArena::Use use(arena);
  CHECK(kArenaCoroutineTrees[kVariants - 1](3) == reference_tree(kVariants - 1, 3));
  CHECK(arena.failures() == 0);
  CHECK(arena.high_water_bytes() > 0);
  CHECK(arena.live_bytes() == 0);
}

TEST_CASE("arena coroutines: exhaustion is reported, not thrown, and nothing leaks") {
  alignas(FrameArena::kAlignment) std::byte storage[256];  // room for a few frames, not a tree
  FrameArena arena{std::span<std::byte>(storage)};
  FrameArena::Use use(arena);
  (void)kArenaCoroutineTrees[kVariants - 1](3);
  CHECK(arena.failures() > 0);
  CHECK(arena.live_bytes() == 0);

  // After the failure the arena works for what fits.
  arena.reset_statistics();
  void* block = arena.allocate(64);
  CHECK(block != nullptr);
  arena.deallocate(block, 64);
  CHECK(arena.live_bytes() == 0);
}

}  // namespace
}  // namespace pollstack::async_cost
