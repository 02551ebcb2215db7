#include "statemachines/hosted/thread_parker.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "statemachines/hosted/steady_clock.h"

namespace pollstack {
namespace {

// The futex word is the parker's state; FUTEX_WAIT sleeps only while it still equals `expected`,
// so a wake that lands between our check and the system call is never lost. `timeout` is relative
// (null: none).
void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected, const timespec* timeout) noexcept {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected, timeout, nullptr, 0);
}

void futex_wake_one(std::atomic<std::uint32_t>& word) noexcept {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

}  // namespace

void ThreadParker::park_until(Instant deadline) noexcept {
  // A notification already waiting: consume it.
  std::uint32_t expected = kNotified;
  if (state_.compare_exchange_strong(expected, kIdle, std::memory_order_acquire)) return;
  // Announce that we sleep. If an unpark() got in first, the exchange fails and we do not sleep.
  expected = kIdle;
  if (state_.compare_exchange_strong(expected, kSleeping, std::memory_order_acquire)) {
    // Spurious futex returns (signals) loop back to sleep, until the deadline.
    while (state_.load(std::memory_order_acquire) == kSleeping) {
      if (deadline == kNever) {
        futex_wait(state_, kSleeping, nullptr);
        continue;
      }
      const Duration left = deadline - SteadyClock::now();
      if (left <= Duration::zero()) break;
      const timespec timeout{static_cast<time_t>(left.count() / 1'000'000),
                             static_cast<long>(left.count() % 1'000'000) * 1000};
      futex_wait(state_, kSleeping, &timeout);
    }
  }
  state_.store(kIdle, std::memory_order_relaxed);
}

void ThreadParker::unpark() noexcept {
  if (state_.exchange(kNotified, std::memory_order_release) == kSleeping) futex_wake_one(state_);
}

}  // namespace pollstack
