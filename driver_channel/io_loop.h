#pragma once
/// run_with_channel(machine, channel, doorbell): the stack's event loop for one machine. Polls the
/// machine when woken, services the channel between polls, and sleeps on the stack's doorbell only
/// after telling the driver so (prepare_to_sleep), so the driver rings only when it must.
/// Hosted builds (it blocks in poll(2)).

#include <type_traits>
#include <utility>

#include "driver_channel/doorbell.h"
#include "driver_channel/stack_channel.h"
#include "statemachines/state_machine.h"

namespace pollstack::driver_channel {

/// Longest sleep between checks; a later driver-liveness check (socket hang-up) hooks in here.
inline constexpr int kIoLoopSleepMs = 100;

template <StateMachine M>
OutputOf<M> run_with_channel(M& machine, StackChannel& channel, Doorbell& stack_doorbell) {
  bool woken = true;
  const Waker waker(+[](void* flag) noexcept { *static_cast<bool*>(flag) = true; }, &woken);
  Context cx(waker);
  for (;;) {
    if (woken) {
      woken = false;
      Poll<OutputOf<M>> done = machine.poll(cx);
      if (done.is_ready()) {
        if constexpr (std::is_void_v<OutputOf<M>>) {
          return;
        } else {
          return std::move(done).value();
        }
      }
    }
    channel.service();
    if (!woken && channel.prepare_to_sleep()) stack_doorbell.wait(kIoLoopSleepMs);
  }
}

}  // namespace pollstack::driver_channel
