// a. The synchronous baseline: plain recursive functions.
#include "benchmarks/async_cost/make_table.h"
#include "benchmarks/async_cost/variants.h"

namespace pollstack::async_cost {
namespace {

template <unsigned V, unsigned Level>
std::uint64_t sync_node(std::uint64_t input, unsigned index) {
  constexpr std::uint64_t k = variant_constant(V);
  if constexpr (Level == kLeafLevel) {
    return leaf_value(input, index, k);
  } else {
    const std::uint64_t left = sync_node<V, Level + 1>(input, 2 * index);
    const std::uint64_t right = sync_node<V, Level + 1>(input, 2 * index + 1);
    return combine(left, right, k);
  }
}

template <unsigned V>
struct SyncEntry {
  [[gnu::noinline, gnu::flatten]] static std::uint64_t run(std::uint64_t input) { return sync_node<V, 0>(input, 0); }
};

}  // namespace

const TreeTable kSyncTrees = make_table<SyncEntry>();

}  // namespace pollstack::async_cost
