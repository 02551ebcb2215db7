#pragma once
/// block_on(machine): polls `machine` on the calling thread until it is Ready and returns its
/// output. Between polls the thread sleeps until the machine's waker fires (from any thread).
/// For tests, tools and main(); hosted builds only.
///
/// The waker handed to the machine is valid until block_on returns: a resource must not keep it
/// past the operation that stored it.

#include <atomic>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "statemachines/state_machine.h"

namespace pollstack {

namespace internal {
// A thread that sleeps until woken. The flag makes a wake that arrives before the sleep count.
class ThreadParker {
 public:
  Waker waker() noexcept { return Waker(&wake, this); }

  void park() noexcept {
    notified_.wait(0, std::memory_order_acquire);
    notified_.store(0, std::memory_order_relaxed);
  }

 private:
  static void wake(void* data) noexcept {
    auto* self = static_cast<ThreadParker*>(data);
    self->notified_.store(1, std::memory_order_release);
    self->notified_.notify_one();
  }

  std::atomic<std::uint32_t> notified_{0};
};
}  // namespace internal

template <StateMachine M>
OutputOf<M> block_on(M& machine) {
  internal::ThreadParker parker;
  Context cx(parker.waker());
  for (;;) {
    Poll<OutputOf<M>> done = machine.poll(cx);
    if (done.is_ready()) {
      if constexpr (std::is_void_v<OutputOf<M>>) {
        return;
      } else {
        return std::move(done).value();
      }
    }
    parker.park();
  }
}

template <StateMachine M>
OutputOf<M> block_on(M&& machine) {
  return block_on(machine);
}

}  // namespace pollstack
