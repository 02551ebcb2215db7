#pragma once
/// Context: what a state machine receives on every poll: the task's waker, the current time, and
/// a way to ask for a wake-up at a later time. Poll signatures never change when services are
/// added: they are added here.
///
/// There is no Context without a clock and a deadline to report to: a machine that waits on time
/// (an ARP retry, a TCP retransmission, a timeout) must be able to rely on being polled again, so
/// an owner that keeps no timers fails to compile instead of hanging at run time.

#include "statemachines/clock.h"
#include "statemachines/waker.h"

namespace pollstack {

class Context {
 public:
  /// `now`: the owner's clock, read once for this poll. `next_deadline`: where wake_at() records
  /// the earliest time a machine asked to be polled again; the owner resets it to kNever before
  /// the poll and polls the task again once its clock reaches it.
  constexpr Context(const Waker& waker, Instant now, Instant& next_deadline) noexcept
      : waker_(waker), now_(now), next_deadline_(&next_deadline) {}

  /// The waker of the task being polled. A machine about to return Pending stores a copy of it
  /// (usually in a WaiterList or WakerSlot) with whatever it waits on.
  constexpr const Waker& waker() const noexcept { return waker_; }

  constexpr Instant now() const noexcept { return now_; }

  /// Asks the owner to poll this task again no later than `deadline` (it may poll earlier). A
  /// machine waiting on time calls this before returning Pending, as it would store its waker.
  constexpr void wake_at(Instant deadline) noexcept {
    if (deadline < *next_deadline_) *next_deadline_ = deadline;
  }

  /// The earliest deadline asked for so far in this poll (kNever: none).
  constexpr Instant next_deadline() const noexcept { return *next_deadline_; }

 private:
  Waker waker_;
  Instant now_;
  Instant* next_deadline_;
};

}  // namespace pollstack
