#pragma once
/// StateCell: the one place where a machine's state changes.
///
/// Convention for every state machine in the project:
///  - its states are an `enum class State : std::uint8_t` that a reviewer can draw on paper, with a
///    terminal state named `Done`;
///  - it holds `StateCell<ItsOwnType, State> state_`, and every change of state is
///    `state_.set(State::Next)`; the transitions live in one poll() function, top to bottom;
///  - poll() begins with `state_.expect_pollable()`, which catches polling after Ready.
/// Because all changes pass through set(), tracing, transition coverage and state diagrams observe
/// every machine without touching any of them (see transition_trace.h). Without tracing, a
/// StateCell is exactly its enum: one byte, and set() is one store.

#include <concepts>
#include <type_traits>

#include "statemachines/contract.h"
#include "statemachines/transition_trace.h"

#ifdef POLLSTACK_TRACE_TRANSITIONS
#include "statemachines/internal/names.h"
#endif

namespace pollstack {

/// A state enum as the convention above requires.
template <class S>
concept StateEnum = std::is_enum_v<S> && !std::is_convertible_v<S, int> && requires { S::Done; };

template <class Machine, StateEnum State>
class StateCell {
 public:
  constexpr explicit StateCell(State initial) noexcept : state_(initial) {}

  constexpr State get() const noexcept { return state_; }
  constexpr bool is_done() const noexcept { return state_ == State::Done; }

  /// Changes the state, reporting the transition when tracing is compiled in.
  constexpr void set(State next) noexcept {
#ifdef POLLSTACK_TRACE_TRANSITIONS
    internal::report_transition(Transition{internal::type_name<Machine>(),
                                           internal::enum_name(state_), internal::enum_name(next)});
#endif
    state_ = next;
  }

  /// The check at the top of every poll(): polling a machine after it returned Ready is a
  /// contract violation (debug builds abort; see contract.h).
  constexpr void expect_pollable(
      const SourceLocation& where = SourceLocation::current()) const noexcept {
    expect(state_ != State::Done, "poll() after the machine returned Ready", where);
  }

 private:
  State state_;
};

}  // namespace pollstack
