#pragma once
/// block_on(machine): polls `machine` on the calling thread until it is Ready and returns its
/// output. Between polls the thread sleeps until the machine's waker fires (from any thread) or
/// the deadline it asked for (Context::wake_at) comes, on SteadyClock. For tests, tools and
/// main(); hosted builds only.
///
/// The waker handed to the machine is valid until block_on returns: a resource must not keep it
/// past the operation that stored it.

#include <utility>

#include "statemachines/hosted/steady_clock.h"
#include "statemachines/hosted/thread_parker.h"
#include "statemachines/state_machine.h"

namespace pollstack {

namespace internal {
// The slow path, kept out of line: sleep, then poll, until Ready.
template <StateMachine M>
[[gnu::noinline]] Poll<OutputOf<M>> wait_until_ready(M& machine, ThreadParker& parker, Instant deadline) {
  for (;;) {
    parker.park_until(deadline);
    deadline = kNever;
    Context cx(parker.waker(), SteadyClock::now(), deadline);
    Poll<OutputOf<M>> done = machine.poll(cx);
    if (done.is_ready()) return done;
  }
}
}  // namespace internal

template <StateMachine M>
OutputOf<M> block_on(M& machine) {
  ThreadParker parker;
  Instant deadline = kNever;
  Context cx(parker.waker(), SteadyClock::now(), deadline);
  // The first poll stands alone, before any loop: most operations are Ready at once (the ring had
  // room), and a fresh machine's states are known here, so the optimizer can fold this poll into
  // straight-line code. Only a machine that returns Pending pays for the wait loop.
  Poll<OutputOf<M>> done = machine.poll(cx);
  if (done.is_pending()) [[unlikely]] done = internal::wait_until_ready(machine, parker, deadline);
  return std::move(done).value();
}

template <StateMachine M>
OutputOf<M> block_on(M&& machine) {
  return block_on(machine);
}

}  // namespace pollstack
