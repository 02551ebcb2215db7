#include "statemachines/executor.h"

#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include "tests/statemachines/cross_thread_signal.h"
#include "tests/statemachines/test_machines.h"

namespace pollstack {
namespace {

using testing::Countdown;
using testing::Gate;
using testing::TakeFromGate;

TEST_CASE("a machine Pending N times completes after N wakes") {
  constexpr int kPendings = 5;
  Executor ex{Countdown(kPendings)};
  int rounds = 0;
  while (!ex.all_done()) {
    CHECK(ex.run_ready() == 1);  // it woke itself each time, so it is polled every round
    ++rounds;
  }
  CHECK(rounds == kPendings + 1);
  CHECK(ex.output<0>().value() == kPendings + 1);
}

TEST_CASE("a task is polled only after its waker fires") {
  Gate gate;
  Executor ex{TakeFromGate(gate, 7)};
  CHECK(ex.run_ready() == 1);  // the first poll
  CHECK(ex.run_ready() == 0);  // nobody woke it
  CHECK(ex.run_ready() == 0);
  gate.give();
  CHECK(ex.run_ready() == 1);
  REQUIRE(ex.all_done());
  CHECK(ex.output<0>().value() == 7);
}

TEST_CASE("a finished task is never polled again, even if woken") {
  Gate gate;
  Executor ex{testing::Immediate(1), TakeFromGate(gate, 2)};
  CHECK(ex.run_ready() == 2);
  CHECK(ex.is_done(0));
  CHECK_FALSE(ex.is_done(1));
  gate.give();
  CHECK(ex.run_ready() == 1);
  CHECK(ex.all_done());
}

TEST_CASE("each task's waker wakes only that task") {
  Gate first;
  Gate second;
  Executor ex{TakeFromGate(first, 1), TakeFromGate(second, 2)};
  ex.run_ready();
  second.give();
  CHECK(ex.run_ready() == 1);
  CHECK(ex.is_done(1));
  CHECK_FALSE(ex.is_done(0));
  first.give();
  ex.run();
  CHECK(ex.output<0>().value() == 1);
}

TEST_CASE("run() sleeps until a waker fires from another thread") {
  testing::CrossThreadSignal signal;
  Executor ex{testing::AwaitSignal(signal), Countdown(3)};
  std::thread raiser([&signal] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    signal.raise();
  });
  ex.run();
  raiser.join();
  CHECK(ex.all_done());
  CHECK(ex.output<0>().value() >= 2);  // Pending at least once, then Ready after the wake
  CHECK(ex.output<1>().value() == 4);
}

TEST_CASE("the executor's size is the sum of its tasks plus fixed bookkeeping") {
  using Ex = Executor<Countdown, Countdown>;
  // Two tasks with their outputs, the ready word, the done mask, one wake target per task.
  CHECK(sizeof(Ex) <= 2 * (sizeof(Countdown) + sizeof(Poll<int>)) + 8 + 2 * 16 + 16);
}

}  // namespace
}  // namespace pollstack
