#pragma once
/// StateCell: the one place where a machine's state changes.
///
/// Convention for every state machine in the project:
///  - its states are an `enum class State : std::uint8_t` that a reviewer can draw on paper, with a
///    terminal state named `Done`;
///  - beside the enum, `static constexpr auto kTransitions = transitions(...)` declares the state
///    it starts in and every legal change with what causes it (transitions.h);
///  - it holds `StateCell<ItsOwnType, &kTransitions> state_`, and every change of state is
///    `state_.set(State::Next)`; the transitions live in one poll() function, top to bottom;
///  - poll() begins with `state_.expect_pollable()`, which catches polling after Ready.
/// Because all changes pass through set(), debug builds check each against the declared table, and
/// tracing, transition coverage and the state diagrams observe every machine without touching any
/// of them (see transition_trace.h). In release builds without tracing a StateCell is exactly its
/// enum: one byte, and set() is one store.
///
/// Protocol states that are not a poll() machine's (a TCP connection's, a neighbour entry's, a
/// pool buffer's) use the same cell and table; their enum need not have a `Done`.

#include <concepts>
#include <type_traits>

#include "statemachines/contract.h"
#include "statemachines/transition_trace.h"
#include "statemachines/transitions.h"

#ifdef POLLSTACK_TRACE_TRANSITIONS
#include "statemachines/internal/describe.h"
#endif

namespace pollstack {

/// A state enum as the convention above requires: scoped, so states never mix with integers.
template <class S>
concept StateEnum = std::is_enum_v<S> && !std::is_convertible_v<S, int>;

/// A poll() machine's states: they end in Done.
template <class S>
concept PollStateEnum = StateEnum<S> && requires { S::Done; };

/// The cell of a machine of type `Machine` whose declared transitions are `*Table` (a
/// TransitionTable, transitions.h); the machine's type names it in traces and diagrams.
template <class Machine, const auto* Table>
class StateCell {
 public:
  using State = typename std::remove_cvref_t<decltype(*Table)>::StateType;
  static_assert(StateEnum<State>, "a state enum is an enum class");

  /// `initial` must be one of the table's initial states (checked in debug builds). `built_at` is where
  /// the cell was written, for tracing.
  constexpr explicit StateCell(State initial,
                               const SourceLocation& built_at = SourceLocation::current()) noexcept
      : state_(initial) {
    if constexpr (kContractChecks) {
      expect(Table->starts_in(initial),
             "machine built in a state other than its kTransitions' initial one", built_at);
    }
#ifdef POLLSTACK_TRACE_TRANSITIONS
    if (!std::is_constant_evaluated()) internal::report_machine(internal::Describe<Machine, Table>::value, built_at);
#endif
  }

  /// In the table's (first) initial state: for cells kept in arrays (`built_at` is then where the
  /// array is initialised).
  constexpr StateCell(const SourceLocation& built_at = SourceLocation::current()) noexcept  // NOLINT: implicit for `= {}`
      : StateCell(Table->initial[0], built_at) {}

  constexpr State get() const noexcept { return state_; }
  constexpr bool is_done() const noexcept
    requires PollStateEnum<State>
  {
    return state_ == State::Done;
  }

  /// Changes the state. Debug builds check the change against the declared table; tracing
  /// builds report it, with `where` naming the poll() or event that made it.
  constexpr void set(State next, const SourceLocation& where = SourceLocation::current()) noexcept {
    if constexpr (kContractChecks) {
      expect(Table->allows(state_, next),
             "state change not declared in the machine's kTransitions (statemachines/transitions.h)", where);
    }
#ifdef POLLSTACK_TRACE_TRANSITIONS
    const MachineDescription& description = internal::Describe<Machine, Table>::value;
    internal::report_transition(Transition{&description, description.name, internal::enum_name(state_),
                                           internal::enum_name(next), where});
#endif
    state_ = next;
  }

  /// The check at the top of every poll(): polling a machine after it returned Ready is a
  /// contract violation (debug builds abort; see contract.h).
  constexpr void expect_pollable(const SourceLocation& where = SourceLocation::current()) const noexcept
    requires PollStateEnum<State>
  {
    expect(state_ != State::Done, "poll() after the machine returned Ready", where);
  }

 private:
  State state_;
};

}  // namespace pollstack
