#include "statemachines/executor.h"

#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include "statemachines/hosted/run.h"
#include "statemachines/sleep.h"
#include "tests/statemachines/cross_thread_signal.h"
#include "tests/statemachines/test_machines.h"

namespace pollstack {
namespace {

using namespace std::chrono_literals;
using testing::Countdown;
using testing::Gate;
using testing::TakeFromGate;

constexpr Instant kStart{Duration{5'000'000}};

TEST_CASE("a machine Pending N times completes after N wakes") {
  constexpr int kPendings = 5;
  Executor ex{Countdown(kPendings)};
  int rounds = 0;
  while (!ex.all_done()) {
    CHECK(ex.run_ready(kStart) == 1);  // it woke itself each time, so it is polled every round
    ++rounds;
  }
  CHECK(rounds == kPendings + 1);
  CHECK(ex.output<0>().value() == kPendings + 1);
}

TEST_CASE("a task is polled only after its waker fires") {
  Gate gate;
  Executor ex{TakeFromGate(gate, 7)};
  CHECK(ex.run_ready(kStart) == 1);  // the first poll
  CHECK_FALSE(ex.has_woken());
  CHECK(ex.run_ready(kStart) == 0);  // nobody woke it
  CHECK(ex.run_ready(kStart + 1h) == 0);  // and it asked for no time
  CHECK(ex.next_deadline() == kNever);
  gate.give();
  CHECK(ex.has_woken());
  CHECK(ex.run_ready(kStart) == 1);
  REQUIRE(ex.all_done());
  CHECK(ex.output<0>().value() == 7);
}

TEST_CASE("a finished task is never polled again, even if woken") {
  Gate gate;
  Executor ex{testing::Immediate(1), TakeFromGate(gate, 2)};
  CHECK(ex.run_ready(kStart) == 2);
  CHECK(ex.is_done(0));
  CHECK_FALSE(ex.is_done(1));
  gate.give();
  CHECK(ex.run_ready(kStart) == 1);
  CHECK(ex.all_done());
}

TEST_CASE("each task's waker wakes only that task") {
  Gate first;
  Gate second;
  Executor ex{TakeFromGate(first, 1), TakeFromGate(second, 2)};
  ex.run_ready(kStart);
  second.give();
  CHECK(ex.run_ready(kStart) == 1);
  CHECK(ex.is_done(1));
  CHECK_FALSE(ex.is_done(0));
  first.give();
  run(ex);
  CHECK(ex.output<0>().value() == 1);
}

// Pending until woken through the waker it leaves in `waker_out`; then gives the gate a permit.
struct GiveWhenWoken {
  using Output = int;
  testing::Gate* gate;
  Waker* waker_out;
  int polls = 0;
  Poll<int> poll(Context& cx) {
    if (polls++ == 0) {
      *waker_out = cx.waker();
      return pending;
    }
    gate->give();
    return 0;
  }
};

TEST_CASE("a task woken by an earlier task runs in the same turn; by a later one, in the next") {
  {
    Gate gate;
    Waker giver;
    Executor ex{GiveWhenWoken{&gate, &giver}, TakeFromGate(gate, 1)};
    CHECK(ex.run_ready(kStart) == 2);
    giver.wake();
    CHECK(ex.run_ready(kStart) == 2);  // the giver, then the taker it woke
    CHECK(ex.all_done());
  }
  {
    Gate gate;
    Waker giver;
    Executor ex{TakeFromGate(gate, 1), GiveWhenWoken{&gate, &giver}};
    CHECK(ex.run_ready(kStart) == 2);
    giver.wake();
    CHECK(ex.run_ready(kStart) == 1);  // the giver; the taker's turn has passed
    CHECK(ex.has_woken());
    CHECK(ex.run_ready(kStart) == 1);
    CHECK(ex.all_done());
  }
}

// A task that sleeps `d`, then counts its polls: how often it was polled before its time.
struct SleepThenCount {
  using Output = int;
  Sleep sleep;
  int polls = 0;
  Poll<int> poll(Context& cx) {
    ++polls;
    if (sleep.poll(cx).is_pending()) return pending;
    return polls;
  }
};

TEST_CASE("a task waiting on time is polled when its deadline comes, not before") {
  ManualClock clock(kStart);
  Executor ex{SleepThenCount{sleep_for(30ms)}, SleepThenCount{sleep_for(10ms)}};
  CHECK(ex.run_ready(clock.now()) == 2);
  CHECK(ex.next_deadline() == kStart + 10ms);  // the earlier of the two
  clock.advance(9ms);
  CHECK(ex.run_ready(clock.now()) == 0);
  clock.advance(1ms);
  CHECK(ex.run_ready(clock.now()) == 1);  // only the 10 ms sleeper
  CHECK(ex.is_done(1));
  CHECK(ex.output<1>().value() == 2);     // polled twice: at the start and at its deadline
  CHECK(ex.next_deadline() == kStart + 30ms);
  clock.advance_to(ex.next_deadline());
  CHECK(ex.run_ready(clock.now()) == 1);
  CHECK(ex.all_done());
  CHECK(ex.output<0>().value() == 2);
  CHECK(ex.next_deadline() == kNever);
}

TEST_CASE("run() sleeps until a waker fires from another thread") {
  testing::CrossThreadSignal signal;
  Executor ex{testing::AwaitSignal(signal), Countdown(3)};
  std::thread raiser([&signal] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    signal.raise();
  });
  run(ex);
  raiser.join();
  CHECK(ex.all_done());
  CHECK(ex.output<0>().value() >= 2);  // Pending at least once, then Ready after the wake
  CHECK(ex.output<1>().value() == 4);
}

TEST_CASE("run() sleeps until a task's deadline on the steady clock") {
  Executor ex{SleepThenCount{sleep_for(20ms)}};
  const auto start = std::chrono::steady_clock::now();
  run(ex);
  CHECK(std::chrono::steady_clock::now() - start >= 20ms);
  // Polled once to start and once at the deadline: it slept, it did not spin.
  CHECK(ex.output<0>().value() == 2);
}

TEST_CASE("the executor's size is the sum of its tasks plus fixed bookkeeping") {
  using Ex = Executor<Countdown, Countdown>;
  // Two tasks with their outputs, the ready word, the done mask, per task a wake target and a
  // deadline, and the notifier.
  CHECK(sizeof(Ex) <= 2 * (sizeof(Countdown) + sizeof(Poll<int>)) + 8 + 2 * (16 + 8) + 16);
}

}  // namespace
}  // namespace pollstack
