#pragma once
/// Transition tracing: every state change of every machine, observable without touching the
/// machines. Compiled in only when POLLSTACK_TRACE_TRANSITIONS is defined (`--config=trace`);
/// otherwise StateCell::set() is a plain store and nothing here is referenced.
///
/// Used for debug logs and for transition coverage: the test suite built this way
/// (`--config=trace`) records which declared transitions (transitions.h) its tests take, and
/// tools/diagrams marks the others on the state diagrams.

#include <span>
#include <string_view>

#include "statemachines/contract.h"

namespace pollstack {

#ifdef POLLSTACK_TRACE_TRANSITIONS
inline constexpr bool kTraceTransitions = true;
#else
inline constexpr bool kTraceTransitions = false;
#endif

/// A machine type's declared table (transitions.h) in names. One per machine type, in static
/// storage; everything here stays valid for the program's life.
struct MachineDescription {
  struct EdgeText {
    std::string_view from;
    std::string_view to;
    std::string_view event;
  };
  std::string_view name;                     // the machine's type, e.g. "pollstack::Map<Leaf, Fn>"
  std::span<const std::string_view> initial;  // the states it may be built in
  std::span<const std::string_view> states;  // every enumerator, in order
  std::span<const EdgeText> edges;           // its kTransitions
};

/// One state change.
struct Transition {
  const MachineDescription* description;
  std::string_view machine;  // description->name
  std::string_view from;     // enumerator names, e.g. "Running"; "" if the value is not one
  std::string_view to;
  SourceLocation where;      // the set() call: its function is the poll() or event that caused it
};

/// Called on every transition while installed. Runs inside poll(): keep it short, do not poll.
using TransitionObserver = void (*)(const Transition&) noexcept;

/// Called when a machine is built (its StateCell constructed), with where the cell's initial state
/// was written: machines a test builds but never moves still count as seen.
using MachineObserver = void (*)(const MachineDescription&, const SourceLocation& built_at) noexcept;

/// Install `observer` (nullptr uninstalls) and return the previous one. Thread-safe.
TransitionObserver set_transition_observer(TransitionObserver observer) noexcept;
MachineObserver set_machine_observer(MachineObserver observer) noexcept;

namespace internal {
void report_transition(const Transition& transition) noexcept;
void report_machine(const MachineDescription& description, const SourceLocation& built_at) noexcept;
}  // namespace internal

}  // namespace pollstack
