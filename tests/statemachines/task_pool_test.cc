#include "statemachines/task_pool.h"

#include <doctest/doctest.h>

#include "statemachines/executor.h"
#include "statemachines/sleep.h"
#include "tests/statemachines/test_machines.h"

namespace pollstack {
namespace {

using namespace std::chrono_literals;
using testing::Gate;
using testing::TakeFromGate;

TEST_CASE("a pool runs spawned tasks, retires finished ones and reuses their slots") {
  Gate gate;
  Executor ex{TaskPool<TakeFromGate, 2>()};
  auto& pool = ex.task<0>();
  ex.run_ready(Instant{});
  CHECK(pool.spawn(TakeFromGate(gate, 1)));
  CHECK(pool.spawn(TakeFromGate(gate, 2)));
  CHECK_FALSE(pool.spawn(TakeFromGate(gate, 3)));  // full: refused, counted
  CHECK(pool.refused() == 1);
  CHECK(ex.has_woken());  // spawning woke the pool's task
  CHECK(ex.run_ready(Instant{}) == 1);
  CHECK(pool.running() == 2);
  gate.give();
  CHECK(ex.run_ready(Instant{}) == 1);
  CHECK(pool.running() == 1);
  CHECK(pool.finished() == 1);
  CHECK(pool.spawn(TakeFromGate(gate, 4)));  // the freed slot
  ex.run_ready(Instant{});
  gate.give();
  gate.give();
  ex.run_ready(Instant{});
  CHECK(pool.running() == 0);
  CHECK(pool.finished() == 3);
  CHECK_FALSE(ex.all_done());  // open: more may come
  pool.close();
  ex.run_ready(Instant{});
  CHECK(ex.all_done());
}

struct Nap {
  using Output = void;
  Sleep sleep;
  int* polls;
  Poll<void> poll(Context& cx) {
    ++*polls;
    return sleep.poll(cx);
  }
};

TEST_CASE("a pool polls only the slots that are due, and reports their earliest deadline") {
  ManualClock clock(Instant{Duration{1'000'000}});
  const Instant start = clock.now();
  Executor ex{TaskPool<Nap, 4>()};
  auto& pool = ex.task<0>();
  int long_polls = 0;
  int short_polls = 0;
  pool.spawn(Nap{sleep_for(5ms), &long_polls});
  pool.spawn(Nap{sleep_for(1ms), &short_polls});
  ex.run_ready(clock.now());
  CHECK(ex.next_deadline() == start + 1ms);
  clock.advance(1ms);
  CHECK(ex.run_ready(clock.now()) == 1);
  CHECK(pool.running() == 1);
  CHECK(short_polls == 2);  // started, then at its deadline
  CHECK(long_polls == 1);   // not due: not polled
  CHECK(ex.next_deadline() == start + 5ms);
  clock.advance(4ms);
  ex.run_ready(clock.now());
  CHECK(long_polls == 2);
  CHECK(pool.running() == 0);
  CHECK(ex.next_deadline() == kNever);
}

}  // namespace
}  // namespace pollstack
