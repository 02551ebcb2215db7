#include "statemachines/waker_slot.h"

#include <doctest/doctest.h>

#include "statemachines/executor.h"
#include "tests/statemachines/test_machines.h"

namespace pollstack {
namespace {

using testing::counting_waker;

TEST_CASE("Waker: no-op, identity, wake") {
  int wakes = 0;
  const Waker w = counting_waker(wakes);
  const Waker noop;
  CHECK(noop.is_noop());
  noop.wake();  // harmless
  CHECK_FALSE(w.is_noop());
  CHECK(w.will_wake(counting_waker(wakes)));
  CHECK_FALSE(w.will_wake(noop));
  w.wake();
  w.wake();
  CHECK(wakes == 2);
}

TEST_CASE("WakerSlot wakes the stored waker once and empties") {
  int wakes = 0;
  WakerSlot slot;
  CHECK(slot.is_empty());
  slot.wake();  // empty: nothing happens
  slot.store(counting_waker(wakes));
  CHECK_FALSE(slot.is_empty());
  slot.wake();
  CHECK(wakes == 1);
  CHECK(slot.is_empty());
  slot.wake();
  CHECK(wakes == 1);
}

TEST_CASE("WakerSlot: storing the same waker again is a no-op") {
  int wakes = 0;
  WakerSlot slot;
  slot.store(counting_waker(wakes));
  slot.store(counting_waker(wakes));
  CHECK(wakes == 0);
  slot.wake();
  CHECK(wakes == 1);
}

TEST_CASE("WakerSlot: a second waiter displaces the first, which is woken, never lost") {
  int first = 0;
  int second = 0;
  WakerSlot slot;
  slot.store(counting_waker(first));
  slot.store(counting_waker(second));
  CHECK(first == 1);  // displaced: told to poll again
  CHECK(second == 0);
  slot.wake();
  CHECK(first == 1);
  CHECK(second == 1);
}

TEST_CASE("WakerSlot: clear forgets without waking") {
  int wakes = 0;
  WakerSlot slot;
  slot.store(counting_waker(wakes));
  slot.clear();
  slot.wake();
  CHECK(wakes == 0);
}

TEST_CASE("Two tasks contending for one slot both finish") {
  testing::Gate gate;
  Executor ex{testing::TakeFromGate(gate, 1), testing::TakeFromGate(gate, 2)};
  ex.run_ready(Instant{});  // both Pending; the second displaced the first, which is woken again
  CHECK_FALSE(ex.all_done());
  for (int round = 0; round < 10 && !ex.all_done(); ++round) {
    gate.give();
    while (ex.run_ready(Instant{}) > 0) {
    }
  }
  REQUIRE(ex.all_done());
  CHECK(ex.output<0>().value() == 1);
  CHECK(ex.output<1>().value() == 2);
}

}  // namespace
}  // namespace pollstack
