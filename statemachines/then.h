#pragma once
/// then(first, make_second): run `first`; when it completes with x, build `make_second(x)` (another
/// state machine) and run it; complete with its output. The sequencing of two operations.
///
/// Size: the first and second machines share storage (only one is alive at a time), plus the
/// factory and one state byte: never more than the sum of the parts.

#include <cstdint>
#include <memory>
#include <utility>

#include "statemachines/internal/call_with_output.h"
#include "statemachines/state_cell.h"
#include "statemachines/state_machine.h"

namespace pollstack {

template <StateMachine First, class MakeSecond>
class Then {
 public:
  using Second = internal::ContinuationResultT<MakeSecond, OutputOf<First>>;
  static_assert(StateMachine<Second>, "then(): make_second must return a state machine");
  using Output = OutputOf<Second>;

  constexpr Then(First first, MakeSecond make_second) : make_second_(std::move(make_second)) {
    std::construct_at(&first_, std::move(first));
  }

  // Movable before the first poll, like every machine built by value and then handed to a task.
  Then(Then&& other) : make_second_(std::move(other.make_second_)), state_(other.state_.get()) {
    if (state_.get() == State::RunningFirst) std::construct_at(&first_, std::move(other.first_));
    if (state_.get() == State::RunningSecond) std::construct_at(&second_, std::move(other.second_));
  }
  Then& operator=(Then&&) = delete;

  ~Then() {
    if (state_.get() == State::RunningFirst) std::destroy_at(&first_);
    if (state_.get() == State::RunningSecond) std::destroy_at(&second_);
  }

  Poll<Output> poll(Context& cx) {
    state_.expect_pollable();
    if (state_.get() == State::RunningFirst) {
      Poll<OutputOf<First>> first_done = first_.poll(cx);
      if (first_done.is_pending()) return pending;
      std::destroy_at(&first_);
      state_.set(State::Building);  // if make_second_ aborted midway, neither member is alive
      std::construct_at(&second_, internal::call_with_output(make_second_, std::move(first_done)));
      state_.set(State::RunningSecond);
    }
    Poll<Output> second_done = second_.poll(cx);
    if (second_done.is_ready()) {
      std::destroy_at(&second_);
      state_.set(State::Done);
    }
    return second_done;
  }

 private:
  enum class State : std::uint8_t { RunningFirst, Building, RunningSecond, Done };
  static constexpr auto kTransitions = transitions(State::RunningFirst, {
      {State::RunningFirst, State::Building, "first Ready: building the second from its output"},
      {State::Building, State::RunningSecond, "second built"},
      {State::RunningSecond, State::Done, "second Ready"},
  });

  union {
    First first_;
    Second second_;
  };
  [[no_unique_address]] MakeSecond make_second_;
  StateCell<Then, &kTransitions> state_{State::RunningFirst};
};

template <StateMachine First, class MakeSecond>
constexpr Then<First, MakeSecond> then(First first, MakeSecond make_second) {
  return Then<First, MakeSecond>(std::move(first), std::move(make_second));
}

}  // namespace pollstack
