// map, then, join, select: behaviour and size.
#include <doctest/doctest.h>

#include "statemachines/hosted/block_on.h"
#include "statemachines/join.h"
#include "statemachines/map.h"
#include "statemachines/select.h"
#include "statemachines/then.h"
#include "tests/statemachines/test_machines.h"

namespace pollstack {
namespace {

using testing::Countdown;
using testing::Gate;
using testing::Immediate;
using testing::TakeFromGate;

Waker noop_waker() { return Waker(); }

TEST_CASE("map applies the function to the output once") {
  int calls = 0;
  auto m = map(Immediate(20), [&calls](int x) {
    ++calls;
    return x + 1;
  });
  CHECK(block_on(m) == 21);
  CHECK(calls == 1);
}

TEST_CASE("map passes Pending through and stays pollable") {
  Gate gate;
  auto m = map(TakeFromGate(gate, 5), [](int x) { return x * 2; });
  testing::ManualContext cx(noop_waker());
  CHECK(m.poll(cx).is_pending());
  CHECK(gate.has_waiter());
  gate.give();
  Poll<int> done = m.poll(cx);
  REQUIRE(done.is_ready());
  CHECK(done.value() == 10);
}

TEST_CASE("map over a void output, and to a void output") {
  struct VoidMachine {
    using Output = void;
    Poll<void> poll(Context&) { return ready(); }
  };
  auto to_int = map(VoidMachine{}, [] { return 7; });
  CHECK(block_on(to_int) == 7);

  int seen = 0;
  auto to_void = map(Immediate(3), [&seen](int x) { seen = x; });
  block_on(to_void);
  CHECK(seen == 3);
}

TEST_CASE("map of a capture-free function adds only the state byte") {
  auto m = map(Immediate(1), [](int x) { return x; });
  CHECK(sizeof(m) <= sizeof(Immediate) + alignof(Immediate));
}

TEST_CASE("then runs the second machine built from the first's output") {
  Gate gate;
  auto t = then(Immediate(4), [&gate](int x) { return TakeFromGate(gate, x * 10); });
  testing::ManualContext cx(noop_waker());
  CHECK(t.poll(cx).is_pending());  // first done, second waiting for the gate
  gate.give();
  Poll<int> done = t.poll(cx);
  REQUIRE(done.is_ready());
  CHECK(done.value() == 40);
}

TEST_CASE("then shares storage between the two stages") {
  struct Small {
    using Output = int;
    Poll<int> poll(Context&) { return 1; }
  };
  struct Large {
    using Output = int;
    char bytes[64];
    Poll<int> poll(Context&) { return 2; }
  };
  auto t = then(Small{}, [](int) { return Large{}; });
  CHECK(sizeof(t) < sizeof(Small) + sizeof(Large) + 8);
  CHECK(sizeof(t) <= sizeof(Large) + alignof(Large));
  CHECK(block_on(t) == 2);
}

TEST_CASE("then destroys whichever stage is alive") {
  static int alive = 0;
  struct Tracked {
    using Output = int;
    Tracked() { ++alive; }
    Tracked(Tracked&&) { ++alive; }
    ~Tracked() { --alive; }
    Poll<int> poll(Context&) { return pending; }
  };
  {
    auto t = then(Tracked{}, [](int) { return Tracked{}; });
    testing::ManualContext cx(noop_waker());
    CHECK(t.poll(cx).is_pending());
    CHECK(alive == 1);
  }
  CHECK(alive == 0);
}

TEST_CASE("join completes when both complete, polling each until it is done") {
  Gate gate;
  auto j = join(Countdown(2), TakeFromGate(gate, 9));
  int wakes = 0;
  testing::ManualContext cx(testing::counting_waker(wakes));
  CHECK(j.poll(cx).is_pending());
  CHECK(j.poll(cx).is_pending());
  CHECK(j.poll(cx).is_pending());  // the countdown is done now, the gate is still closed
  gate.give();
  Poll<Joined<int, int>> done = j.poll(cx);
  REQUIRE(done.is_ready());
  CHECK(done.value().first == 3);  // the countdown's poll count: 2 Pending + 1 Ready
  CHECK(done.value().second == 9);
}

TEST_CASE("select returns the first ready, biased to the left") {
  Gate gate;
  auto s = select(TakeFromGate(gate, 1), Countdown(1));
  testing::ManualContext cx(noop_waker());
  CHECK(s.poll(cx).is_pending());
  Poll<std::variant<int, int>> done = s.poll(cx);
  REQUIRE(done.is_ready());
  CHECK(done.value().index() == 1);

  auto both = select(Immediate(1), Immediate(2));
  auto winner = block_on(both);
  CHECK(winner.index() == 0);
  CHECK(std::get<0>(winner) == 1);
}

TEST_CASE("combinators nest by value into one fixed-size object") {
  Gate gate;
  auto nested = then(join(Immediate(1), map(Countdown(3), [](int polls) { return polls * 100; })),
                     [&gate](Joined<int, int> j) { return TakeFromGate(gate, j.first + j.second); });
  static_assert(StateMachine<decltype(nested)>);
  gate.give();
  CHECK(block_on(nested) == 401);
}

}  // namespace
}  // namespace pollstack
