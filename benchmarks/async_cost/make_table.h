#pragma once
// Builds a variant table from an entry-point template: kSyncTrees = make_table<run_sync>().

#include <utility>

#include "benchmarks/async_cost/tree_spec.h"

namespace pollstack::async_cost {

template <template <unsigned> class Entry, std::size_t... V>
constexpr TreeTable make_table(std::index_sequence<V...>) {
  return TreeTable{&Entry<V>::run...};
}

template <template <unsigned> class Entry>
constexpr TreeTable make_table() {
  return make_table<Entry>(std::make_index_sequence<kVariants>{});
}

}  // namespace pollstack::async_cost
