#pragma once
/// run(executor): the hosted owner of an Executor. Polls what is due, then sleeps on a futex until
/// a task is woken (from any thread) or the earliest deadline a task asked for comes, on
/// SteadyClock; returns when every task has finished. Firmware does the same with its own clock
/// and a wait for interrupt (see tools/firmware).

#include "statemachines/executor.h"
#include "statemachines/hosted/steady_clock.h"
#include "statemachines/hosted/thread_parker.h"

namespace pollstack {

template <StateMachine... Tasks>
void run(Executor<Tasks...>& executor) noexcept {
  ThreadParker parker;
  executor.set_notifier(parker.waker());
  while (!executor.all_done()) {
    executor.run_ready(SteadyClock::now());
    if (executor.all_done() || executor.has_woken()) continue;
    // A wake after has_woken() unparks the parker first, so park_until returns at once.
    parker.park_until(executor.next_deadline());
  }
  executor.set_notifier(Waker());
}

}  // namespace pollstack
