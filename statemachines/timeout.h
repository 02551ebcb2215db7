#pragma once
/// with_timeout(machine, d): run `machine`; complete with its output, or with TimedOut once `d`
/// has passed since the first poll without it completing. The machine is then abandoned
/// unfinished: it is destroyed with the Timeout, which is how an operation is cancelled here
/// (resources forget the waiters of dropped operations; see waiter_list.h).
///
/// The machine is polled first, so an operation that completes in the same poll as its deadline
/// wins. Size: the machine, a Sleep (a deadline, a duration, a state byte) and one state byte.

#include <cstdint>
#include <type_traits>
#include <utility>

#include "statemachines/result.h"
#include "statemachines/sleep.h"
#include "statemachines/state_cell.h"
#include "statemachines/state_machine.h"

namespace pollstack {

/// The error of a machine that did not complete in time.
enum class TimedOut : std::uint8_t { kTimedOut };

template <StateMachine M>
class Timeout {
 public:
  static_assert(!std::is_void_v<OutputOf<M>>, "with_timeout(): map() a void machine to a value first");
  using Output = Result<OutputOf<M>, TimedOut>;

  constexpr Timeout(M machine, Duration limit) : machine_(std::move(machine)), timer_(sleep_for(limit)) {}

  Poll<Output> poll(Context& cx) {
    state_.expect_pollable();
    if (Poll<OutputOf<M>> done = machine_.poll(cx); done.is_ready()) {
      state_.set(State::Done);
      return Output(std::move(done).value());
    }
    if (timer_.poll(cx).is_pending()) return pending;
    state_.set(State::Done);
    return Output(TimedOut::kTimedOut);
  }

 private:
  enum class State : std::uint8_t { Running, Done };
  static constexpr auto kTransitions = transitions(State::Running, {
      {State::Running, State::Done, "the machine Ready, or the time limit reached"},
  });

  M machine_;
  Sleep timer_;
  StateCell<Timeout, &kTransitions> state_{State::Running};
};

template <StateMachine M>
constexpr Timeout<M> with_timeout(M machine, Duration limit) {
  return Timeout<M>(std::move(machine), limit);
}

}  // namespace pollstack
