#pragma once
/// Context: what a state machine receives on every poll: the task's waker, the current time, and
/// a way to ask for a wake-up at a later time. Poll signatures never change when services are
/// added: they are added here.

#include "statemachines/clock.h"
#include "statemachines/waker.h"

namespace pollstack {

class Context {
 public:
  /// `now`: the owner's clock, read once for this poll. `next_deadline`: where wake_at() records
  /// the earliest time a machine asked to be polled again (null: the owner keeps no timers, and
  /// time-driven behaviour such as retransmission will not happen on its own).
  constexpr explicit Context(const Waker& waker, Instant now = Instant{},
                             Instant* next_deadline = nullptr) noexcept
      : waker_(waker), now_(now), next_deadline_(next_deadline) {}

  /// The waker of the task being polled. A machine about to return Pending stores a copy of it
  /// (usually in a WakerSlot) with whatever it waits on.
  constexpr const Waker& waker() const noexcept { return waker_; }

  constexpr Instant now() const noexcept { return now_; }

  /// Asks the owner to poll this task again no later than `deadline` (it may poll earlier). A
  /// machine waiting on time calls this before returning Pending, as it would store its waker.
  constexpr void wake_at(Instant deadline) noexcept {
    if (next_deadline_ != nullptr && deadline < *next_deadline_) *next_deadline_ = deadline;
  }

 private:
  Waker waker_;
  Instant now_;
  Instant* next_deadline_;
};

}  // namespace pollstack
