#pragma once
// Describe<Machine, Table>::value: a machine type's declared table (*Table, transitions.h) turned
// into names at compile time, for transition tracing (transition_trace.h). Included only when
// tracing is compiled in. Not API.

#include <array>
#include <cstddef>
#include <string_view>
#include <type_traits>

#include "statemachines/internal/names.h"
#include "statemachines/transition_trace.h"

namespace pollstack::internal {

// Enumerators are numbered from 0 without gaps in every state enum; the first value without a
// name ends the list.
template <class E>
constexpr std::size_t enumerator_count() {
  constexpr auto names = enumerator_table<E>(std::make_index_sequence<kMaxEnumerators>{});
  std::size_t n = 0;
  while (n < names.size() && !names[n].empty()) ++n;
  return n;
}

template <class Machine, const auto* Table>
struct Describe {
  static constexpr auto& kTable = *Table;
  using State = typename std::remove_cvref_t<decltype(kTable)>::StateType;
  static constexpr std::size_t kStates = enumerator_count<State>();

  static constexpr std::array<std::string_view, kStates> kStateNames = [] {
    std::array<std::string_view, kStates> names{};
    for (std::size_t i = 0; i < kStates; ++i) names[i] = enum_name(static_cast<State>(i));
    return names;
  }();

  static constexpr std::array<MachineDescription::EdgeText, kTable.edges.size()> kEdges = [] {
    std::array<MachineDescription::EdgeText, kTable.edges.size()> edges{};
    for (std::size_t i = 0; i < edges.size(); ++i) {
      edges[i] = {enum_name(kTable.edges[i].from), enum_name(kTable.edges[i].to), kTable.edges[i].event};
    }
    return edges;
  }();

  static constexpr std::array<std::string_view, kTable.initial.size()> kInitial = [] {
    std::array<std::string_view, kTable.initial.size()> names{};
    for (std::size_t i = 0; i < names.size(); ++i) names[i] = enum_name(kTable.initial[i]);
    return names;
  }();

  static constexpr MachineDescription value{type_name<Machine>(), kInitial, kStateNames, kEdges};
};

}  // namespace pollstack::internal
