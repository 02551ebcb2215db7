#pragma once
/// WakerSet<N>: where a resource that several tasks may wait on at once remembers them all.
///
/// Unlike WakerSlot (one waiter; a second displaces the first), a set holds up to N distinct
/// wakers and refuses the next one: store() returns false and the caller must not return Pending
/// on the strength of it (it reports "busy" instead). That is how a bounded resource says "too many
/// waiters" as a clear error rather than by waking tasks in circles.
///
/// A waiter whose operation is abandoned leaves its waker behind until the next wake_all(); its
/// task then gets one spurious wake, which the poll contract allows.

#include <array>
#include <cstddef>

#include "statemachines/waker.h"

namespace pollstack {

template <std::size_t N>
class WakerSet {
 public:
  constexpr WakerSet() noexcept = default;
  WakerSet(const WakerSet&) = delete;
  WakerSet& operator=(const WakerSet&) = delete;

  /// Remembers `waker` (once, however often it is stored). False when N others are waiting.
  bool store(const Waker& waker) noexcept {
    for (std::size_t i = 0; i < count_; ++i) {
      if (wakers_[i].will_wake(waker)) return true;
    }
    if (count_ == N) return false;
    wakers_[count_++] = waker;
    return true;
  }

  /// Empties the set and wakes every waiter.
  void wake_all() noexcept {
    // Empty first: a wake function that polls inline may store() again.
    const std::size_t count = count_;
    const std::array<Waker, N> wakers = wakers_;
    count_ = 0;
    for (std::size_t i = 0; i < count; ++i) wakers[i].wake();
  }

  std::size_t size() const noexcept { return count_; }
  bool is_empty() const noexcept { return count_ == 0; }

 private:
  std::array<Waker, N> wakers_{};
  std::size_t count_ = 0;
};

}  // namespace pollstack
