#pragma once
/// WakerSlot: where a resource that returned Pending remembers whom to wake.
///
/// One slot holds one waker. The rule for a second waiter, chosen so that no wake is ever lost:
///  - storing a waker that will_wake() the stored one changes nothing (the common re-poll case);
///  - storing a different waker replaces the stored one and wakes the displaced task first. That
///    task polls again, finds the resource still busy, and stores its waker again.
/// So two tasks contending for one slot keep waking each other until the resource is free: extra
/// polls, never a hang. A resource that expects several concurrent waiters gives each its own slot.
///
/// A slot is owned by one thread (the one that polls the resource). The wakers in it may wake
/// tasks on any thread.

#include "statemachines/waker.h"

namespace pollstack {

class WakerSlot {
 public:
  constexpr WakerSlot() noexcept = default;
  WakerSlot(const WakerSlot&) = delete;
  WakerSlot& operator=(const WakerSlot&) = delete;

  /// Remembers `waker`, following the rule above.
  void store(const Waker& waker) noexcept {
    if (occupied_ && waker_.will_wake(waker)) return;
    if (occupied_) waker_.wake();
    waker_ = waker;
    occupied_ = true;
  }

  /// Empties the slot and wakes the task that was in it, if any.
  void wake() noexcept {
    if (!occupied_) return;
    // Empty the slot before waking: a wake function that polls inline may store() again.
    occupied_ = false;
    const Waker waker = waker_;
    waker.wake();
  }

  /// Empties the slot without waking (the waiter was cancelled).
  void clear() noexcept { occupied_ = false; }

  bool is_empty() const noexcept { return !occupied_; }

 private:
  Waker waker_;
  bool occupied_ = false;
};

}  // namespace pollstack
