#pragma once
/// run_with_channel(machine, channel, doorbell): the stack's event loop for one machine (compose
/// several with join/select). Polls the machine when woken or when a deadline it asked for
/// (Context::wake_at) has come, services the channel between polls, and sleeps on the stack's
/// doorbell only after telling the driver so (prepare_to_sleep), so the driver rings only when it
/// must. Hosted builds (it blocks in poll(2) and reads the steady clock).

#include <algorithm>
#include <chrono>
#include <utility>

#include "driver_channel/attach.h"
#include "driver_channel/doorbell.h"
#include "driver_channel/stack_channel.h"
#include "statemachines/clock.h"
#include "statemachines/hosted/steady_clock.h"
#include "statemachines/state_machine.h"

namespace pollstack::driver_channel {

/// Longest sleep between checks of the driver's lifeline.
inline constexpr int kIoLoopSleepMs = 100;

/// `lifeline_fd`: the driver connection (see attach.h), or -1 for an in-process driver. When it
/// closes, the channel goes link down and the machine sees kLinkDown instead of waiting forever.
template <StateMachine M>
OutputOf<M> run_with_channel(M& machine, StackChannel& channel, Doorbell& stack_doorbell,
                             int lifeline_fd = -1) {
  bool woken = true;
  Instant deadline = kNever;
  const Waker waker(+[](void* flag) noexcept { *static_cast<bool*>(flag) = true; }, &woken);
  for (;;) {
    const Instant now = SteadyClock::now();
    if (deadline <= now) woken = true;
    if (woken) {
      woken = false;
      deadline = kNever;
      Context cx(waker, now, deadline);
      Poll<OutputOf<M>> done = machine.poll(cx);
      if (done.is_ready()) return std::move(done).value();
    }
    channel.service();
    if (woken) continue;
    // About to sleep: the one moment a liveness check costs nothing on a busy channel.
    if (lifeline_fd >= 0 && channel.is_link_up() && driver_gone(lifeline_fd)) {
      channel.link_down();
      continue;
    }
    if (!channel.prepare_to_sleep()) continue;
    int sleep_ms = kIoLoopSleepMs;
    if (deadline != kNever) {
      const auto until = std::chrono::ceil<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
      sleep_ms = static_cast<int>(std::clamp<decltype(until)>(until, 0, kIoLoopSleepMs));
    }
    stack_doorbell.wait(sleep_ms);
  }
}

}  // namespace pollstack::driver_channel
