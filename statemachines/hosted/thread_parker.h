#pragma once
/// ThreadParker: lets one thread sleep until another wakes it, or until a deadline. Hosted (Linux)
/// builds only; it is what block_on() and run() sleep on. A firmware build sleeps its own way
/// (wait for interrupt) around Executor::run_ready().
///
/// unpark() costs one atomic exchange, plus a futex system call only when the owner is actually
/// asleep, so waking a busy thread (the common case under load) never enters the kernel.
/// Not libstdc++'s std::atomic::wait: that one can throw std::system_error, which would pull
/// exceptions into the core.

#include <atomic>
#include <cstdint>

#include "statemachines/clock.h"
#include "statemachines/waker.h"

namespace pollstack {

class ThreadParker {
 public:
  ThreadParker() noexcept = default;
  ThreadParker(const ThreadParker&) = delete;
  ThreadParker& operator=(const ThreadParker&) = delete;

  /// Sleeps until unpark() has been called since the last park() returned. Returns at once if it
  /// already was. Only the owning thread may park.
  void park() noexcept { park_until(kNever); }

  /// The same, but returns no later than `deadline` on SteadyClock (kNever: no limit).
  void park_until(Instant deadline) noexcept;

  /// Wakes the owner, or makes its next park() return at once. Any thread, any time.
  void unpark() noexcept;

  /// A Waker that unparks this parker.
  Waker waker() noexcept { return Waker(&wake, this); }

 private:
  enum : std::uint32_t { kIdle = 0, kNotified = 1, kSleeping = 2 };

  static void wake(void* data) noexcept { static_cast<ThreadParker*>(data)->unpark(); }

  std::atomic<std::uint32_t> state_{kIdle};
};

}  // namespace pollstack
