#pragma once
/// Transition tracing: every state change of every machine, observable without touching the
/// machines. Compiled in only when POLLSTACK_TRACE_TRANSITIONS is defined (`--config=trace`);
/// otherwise StateCell::set() is a plain store and nothing here is referenced.
///
/// Used for debug logs, for measuring transition coverage in tests, and (later) for generating
/// state diagrams from what the machines actually do.

#include <string_view>

namespace pollstack {

#ifdef POLLSTACK_TRACE_TRANSITIONS
inline constexpr bool kTraceTransitions = true;
#else
inline constexpr bool kTraceTransitions = false;
#endif

/// One state change. The names point to static storage and stay valid for the program's life.
struct Transition {
  std::string_view machine;  // the machine's type, e.g. "pollstack::Map<Leaf, Fn>"
  std::string_view from;     // enumerator names, e.g. "Running"; "" if the value is not one
  std::string_view to;
};

/// Called on every transition while installed. Runs inside poll(): keep it short, do not poll.
using TransitionObserver = void (*)(const Transition&) noexcept;

/// Installs `observer` (nullptr uninstalls) and returns the previous one. Thread-safe.
TransitionObserver set_transition_observer(TransitionObserver observer) noexcept;

namespace internal {
void report_transition(const Transition& transition) noexcept;
}  // namespace internal

}  // namespace pollstack
