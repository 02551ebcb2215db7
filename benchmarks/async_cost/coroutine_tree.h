#pragma once
// c. and d.: the tree as coroutines, one per node, each awaiting its two children in turn.
// Instantiated with HeapFrames in coroutine_tree.cc and ArenaFrames in arena_coroutine_tree.cc.

#include "benchmarks/async_cost/lazy_task.h"
#include "benchmarks/async_cost/tree_spec.h"

namespace pollstack::async_cost {

template <class Frames, unsigned V, unsigned Level>
LazyTask<std::uint64_t, Frames> coroutine_node(std::uint64_t input, unsigned index) {
  constexpr std::uint64_t k = variant_constant(V);
  if constexpr (Level == kLeafLevel) {
    co_return leaf_value(input, index, k);
  } else {
    const std::uint64_t left = co_await coroutine_node<Frames, V, Level + 1>(input, 2 * index);
    const std::uint64_t right = co_await coroutine_node<Frames, V, Level + 1>(input, 2 * index + 1);
    co_return combine(left, right, k);
  }
}

template <class Frames>
struct CoroutineEntry {
  template <unsigned V>
  struct For {
    [[gnu::noinline, gnu::flatten]] static std::uint64_t run(std::uint64_t input) {
      return coroutine_node<Frames, V, 0>(input, 0).run_to_completion();
    }
  };
};

}  // namespace pollstack::async_cost
