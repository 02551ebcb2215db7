#pragma once
/// Declared transitions: each machine states, once and beside its `enum class State`, which state
/// changes are legal and what causes each. StateCell checks every change against the table in
/// debug builds (a change not declared is a contract violation), and the state diagrams under
/// docs/diagrams/ are drawn from the same tables (tools/diagrams), so a diagram cannot drift from
/// the code it describes.
///
///   enum class State : std::uint8_t { Resolving, Sending, Done };
///   static constexpr auto kTransitions = transitions(State::Resolving, {
///       {State::Resolving, State::Sending, "next hop's address known"},
///       {State::Resolving, State::Done, "resolution failed"},
///       {State::Sending, State::Done, "frame handed to the device, or an error"},
///   });
///
/// The first argument is the state the machine is built in (or a braced list of them, for a
/// machine with several constructors). Each edge appears once, with a text naming every event
/// that takes it (the diagrams print it on the arrow): a table with a repeated edge or an empty
/// text does not compile.

#include <array>
#include <cstddef>
#include <string_view>

namespace pollstack {

template <class State>
struct Edge {
  State from;
  State to;
  std::string_view event;  // what takes the machine along this edge, for the diagram
};

template <class State, std::size_t N, std::size_t Initial>
struct TransitionTable {
  using StateType = State;

  std::array<State, Initial> initial;
  std::array<Edge<State>, N> edges;

  constexpr bool starts_in(State state) const noexcept {
    for (State s : initial) {
      if (s == state) return true;
    }
    return false;
  }

  constexpr bool allows(State from, State to) const noexcept {
    for (const Edge<State>& e : edges) {
      if (e.from == from && e.to == to) return true;
    }
    return false;
  }
};

namespace internal {
// Not constexpr: reaching it while evaluating transitions() makes the table fail to compile, with
// this name in the message.
inline void transition_table_lists_an_edge_twice() {}
inline void transition_table_has_an_empty_event() {}
}  // namespace internal

/// Builds a machine's table (evaluated at compile time only).
template <class State, std::size_t Initial, std::size_t N>
consteval TransitionTable<State, N, Initial> transitions(const State (&initial)[Initial],
                                                         const Edge<State> (&edges)[N]) {
  TransitionTable<State, N, Initial> table{{}, {}};
  for (std::size_t i = 0; i < Initial; ++i) table.initial[i] = initial[i];
  for (std::size_t i = 0; i < N; ++i) {
    if (edges[i].event.empty()) internal::transition_table_has_an_empty_event();
    for (std::size_t j = 0; j < i; ++j) {
      if (edges[j].from == edges[i].from && edges[j].to == edges[i].to) {
        internal::transition_table_lists_an_edge_twice();
      }
    }
    table.edges[i] = edges[i];
  }
  return table;
}

template <class State, std::size_t N>
consteval TransitionTable<State, N, 1> transitions(State initial, const Edge<State> (&edges)[N]) {
  const State initials[1] = {initial};
  return transitions(initials, edges);
}

}  // namespace pollstack
