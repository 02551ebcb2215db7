#pragma once
/// The stack's event loop on a hosted system, over the driver channel:
///  - serve(executor, channel, doorbell, lifeline, stop): runs an Executor's tasks: polls those
///    that were woken or whose deadline came (Executor::run_ready), services the channel between
///    turns (taking back sent buffers and noticing frames, which wakes the tasks waiting on them),
///    and sleeps on the stack's doorbell only after telling the driver so (prepare_to_sleep), so
///    the driver rings only when it must, and no longer than the earliest deadline. Returns once
///    `stop()` is true after a turn.
///  - run_with_channel(machine, ...): the same for one machine, until it completes.
/// Hosted builds (it blocks in poll(2) and reads the steady clock).

#include <algorithm>
#include <chrono>
#include <utility>

#include "driver_channel/attach.h"
#include "driver_channel/doorbell.h"
#include "driver_channel/stack_channel.h"
#include "statemachines/by_ref.h"
#include "statemachines/clock.h"
#include "statemachines/executor.h"
#include "statemachines/hosted/steady_clock.h"
#include "statemachines/state_machine.h"

namespace pollstack::driver_channel {

/// Longest sleep between checks of the driver's lifeline.
inline constexpr int kIoLoopSleepMs = 100;

/// `lifeline_fd`: the driver connection (see attach.h), or -1 for an in-process driver. When it
/// closes, the channel goes link down and the tasks see kLinkDown instead of waiting forever.
template <StateMachine... Tasks, class Stop>
void serve(Executor<Tasks...>& executor, StackChannel& channel, Doorbell& stack_doorbell, int lifeline_fd,
           Stop stop) {
  // Every wake happens on this thread (in a task's poll or in service()): the executor's ready
  // word is all the loop needs to look at, so the notifier does nothing.
  for (;;) {
    executor.run_ready(SteadyClock::now());
    if (stop()) return;
    channel.service();
    if (executor.has_woken()) continue;
    // About to sleep: the one moment a liveness check costs nothing on a busy channel.
    if (lifeline_fd >= 0 && channel.is_link_up() && driver_gone(lifeline_fd)) {
      channel.link_down();
      continue;
    }
    if (!channel.prepare_to_sleep()) continue;
    const Instant deadline = executor.next_deadline();
    int sleep_ms = kIoLoopSleepMs;
    if (deadline != kNever) {
      const auto until = std::chrono::ceil<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
      sleep_ms = static_cast<int>(std::clamp<decltype(until)>(until, 0, kIoLoopSleepMs));
    }
    stack_doorbell.wait(sleep_ms);
  }
}

/// One machine, run until it completes; returns its output.
template <StateMachine M>
OutputOf<M> run_with_channel(M& machine, StackChannel& channel, Doorbell& stack_doorbell, int lifeline_fd = -1) {
  Executor executor{by_ref(machine)};
  serve(executor, channel, stack_doorbell, lifeline_fd, [&executor] { return executor.all_done(); });
  return std::move(executor.template output<0>()).value();
}

}  // namespace pollstack::driver_channel
