#pragma once
/// map(machine, fn): a machine that completes with fn(output of `machine`).
///
/// Size: the inner machine, the function object (zero bytes if it captures nothing) and one state
/// byte. `fn` runs exactly once, inside the poll that sees the inner machine complete.

#include <cstdint>
#include <type_traits>
#include <utility>

#include "statemachines/internal/call_with_output.h"
#include "statemachines/state_cell.h"
#include "statemachines/state_machine.h"

namespace pollstack {

template <StateMachine M, class F>
class Map {
 public:
  using Output = internal::ContinuationResultT<F, OutputOf<M>>;

  constexpr Map(M machine, F fn) : machine_(std::move(machine)), fn_(std::move(fn)) {}

  Poll<Output> poll(Context& cx) {
    state_.expect_pollable();
    Poll<OutputOf<M>> inner = machine_.poll(cx);
    if (inner.is_pending()) return pending;
    state_.set(State::Done);
    if constexpr (std::is_void_v<Output>) {
      internal::call_with_output(fn_, std::move(inner));
      return ready();
    } else {
      return internal::call_with_output(fn_, std::move(inner));
    }
  }

 private:
  enum class State : std::uint8_t { Running, Done };
  static constexpr auto kTransitions = transitions(State::Running, {
      {State::Running, State::Done, "the machine Ready: fn applied to its output"},
  });

  M machine_;
  [[no_unique_address]] F fn_;
  StateCell<Map, &kTransitions> state_{State::Running};
};

template <StateMachine M, class F>
constexpr Map<M, F> map(M machine, F fn) {
  return Map<M, F>(std::move(machine), std::move(fn));
}

}  // namespace pollstack
