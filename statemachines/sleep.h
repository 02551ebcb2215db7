#pragma once
/// sleep_until(t) / sleep_for(d): machines that complete once the owner's clock reaches a time.
///
/// Time is read from Context only, so a sleep is as exact as the owner's clock and costs nothing
/// while it waits: Pending asks the owner (Context::wake_at) to poll again at the deadline. A
/// relative sleep starts counting at its first poll, not at its construction, so a machine built
/// ahead of time and started later still sleeps for the whole duration.

#include <cstdint>

#include "statemachines/clock.h"
#include "statemachines/state_cell.h"
#include "statemachines/state_machine.h"

namespace pollstack {

class Sleep {
 public:
  using Output = void;

  /// Until `deadline` (absolute; kNever: forever).
  static constexpr Sleep until(Instant deadline) noexcept { return Sleep(deadline, Duration::zero(), State::Waiting); }
  /// For `duration` from the first poll (a duration past the end of time: forever).
  static constexpr Sleep lasting(Duration duration) noexcept { return Sleep(kNever, duration, State::Starting); }

  Poll<void> poll(Context& cx) noexcept {
    state_.expect_pollable();
    if (state_.get() == State::Starting) {
      // Saturating: now + duration must not overflow into the past.
      deadline_ = duration_ >= kNever - cx.now() ? kNever : cx.now() + duration_;
      state_.set(State::Waiting);
    }
    if (cx.now() < deadline_) {
      cx.wake_at(deadline_);
      return pending;
    }
    state_.set(State::Done);
    return ready();
  }

  /// When it completes (kNever for a relative sleep not yet polled, and for one that never does).
  constexpr Instant deadline() const noexcept { return deadline_; }

 private:
  enum class State : std::uint8_t { Starting, Waiting, Done };
  static constexpr auto kTransitions = transitions({State::Starting, State::Waiting}, {
      {State::Starting, State::Waiting, "first poll: the deadline is now + duration"},
      {State::Waiting, State::Done, "the clock reached the deadline"},
  });

  constexpr Sleep(Instant deadline, Duration duration, State initial) noexcept
      : deadline_(deadline), duration_(duration), state_(initial) {}

  Instant deadline_;
  Duration duration_;
  StateCell<Sleep, &kTransitions> state_;
};

constexpr Sleep sleep_until(Instant deadline) noexcept { return Sleep::until(deadline); }
constexpr Sleep sleep_for(Duration duration) noexcept { return Sleep::lasting(duration); }

}  // namespace pollstack
