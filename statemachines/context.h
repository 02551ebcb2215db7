#pragma once
/// Context: what a state machine receives on every poll. Today it carries the task's waker; it is
/// the place where later per-poll services go (the clock), so that poll signatures never change.

#include "statemachines/waker.h"

namespace pollstack {

class Context {
 public:
  constexpr explicit Context(const Waker& waker) noexcept : waker_(waker) {}

  /// The waker of the task being polled. A machine about to return Pending stores a copy of it
  /// (usually in a WakerSlot) with whatever it waits on.
  constexpr const Waker& waker() const noexcept { return waker_; }

 private:
  Waker waker_;
};

}  // namespace pollstack
