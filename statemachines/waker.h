#pragma once
/// Waker: how a resource tells a task "poll me again".
///
/// A Waker is two pointers: a wake function and the data it is called with. Copying one is free
/// and never allocates (unlike a reference-counted waker, nothing has to be kept alive by it): the
/// executor that made it guarantees the data outlives every machine it polls with it.
///
/// Thread safety: wake() may be called from any thread, including while the task is being polled;
/// the wake function a task owner installs must allow that (the executor's and block_on's do, with
/// one atomic operation). Waking a task that is already scheduled is harmless.

namespace pollstack {

class Waker {
 public:
  using WakeFn = void (*)(void* data) noexcept;

  /// A waker that does nothing: for machines polled in a loop that never waits.
  constexpr Waker() noexcept = default;
  constexpr Waker(WakeFn fn, void* data) noexcept : fn_(fn), data_(data) {}

  /// Asks the owner to poll the task again. A no-op waker ignores it.
  void wake() const noexcept {
    if (fn_ != nullptr) fn_(data_);
  }

  /// True when both wakers wake the same task: storing one over the other changes nothing.
  constexpr bool will_wake(const Waker& other) const noexcept {
    return fn_ == other.fn_ && data_ == other.data_;
  }

  /// False for the no-op waker.
  constexpr bool is_noop() const noexcept { return fn_ == nullptr; }

 private:
  WakeFn fn_ = nullptr;
  void* data_ = nullptr;
};

}  // namespace pollstack
