#pragma once
/// join(a, b): run two machines concurrently; complete with both outputs once both are Ready.
///
/// Each poll polls whichever of the two is still running, so both make progress and both store the
/// waker when Pending. A finished one is never polled again. Outputs must be values (map a void
/// machine to a value first). Size: both machines, both outputs, one state byte.

#include <cstdint>
#include <type_traits>
#include <utility>

#include "statemachines/state_cell.h"
#include "statemachines/state_machine.h"

namespace pollstack {

template <class A, class B>
struct Joined {
  A first;
  B second;
};

template <StateMachine A, StateMachine B>
class Join {
 public:
  static_assert(!std::is_void_v<OutputOf<A>> && !std::is_void_v<OutputOf<B>>,
                "join(): outputs must be values; map() a void machine to a value first");
  using Output = Joined<OutputOf<A>, OutputOf<B>>;

  constexpr Join(A a, B b) : a_(std::move(a)), b_(std::move(b)) {}

  Poll<Output> poll(Context& cx) {
    state_.expect_pollable();
    if (a_out_.is_pending()) a_out_ = a_.poll(cx);
    if (b_out_.is_pending()) b_out_ = b_.poll(cx);
    if (a_out_.is_pending() || b_out_.is_pending()) return pending;
    state_.set(State::Done);
    return Output{std::move(a_out_).value(), std::move(b_out_).value()};
  }

 private:
  enum class State : std::uint8_t { Running, Done };
  static constexpr auto kTransitions = transitions(State::Running, {
      {State::Running, State::Done, "both Ready"},
  });

  A a_;
  B b_;
  Poll<OutputOf<A>> a_out_ = pending;
  Poll<OutputOf<B>> b_out_ = pending;
  StateCell<Join, &kTransitions> state_{State::Running};
};

template <StateMachine A, StateMachine B>
constexpr Join<A, B> join(A a, B b) {
  return Join<A, B>(std::move(a), std::move(b));
}

}  // namespace pollstack
