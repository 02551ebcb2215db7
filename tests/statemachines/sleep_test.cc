#include "statemachines/sleep.h"

#include <doctest/doctest.h>

#include "statemachines/timeout.h"
#include "tests/statemachines/test_machines.h"

namespace pollstack {
namespace {

using namespace std::chrono_literals;
using testing::ManualContext;

constexpr Instant kStart{Duration{1'000'000}};

TEST_CASE("sleep_for counts from its first poll and asks for exactly its deadline") {
  Sleep s = sleep_for(250us);
  CHECK(s.deadline() == kNever);  // not started: built ahead of time, it has not begun counting
  {
    ManualContext cx(Waker(), kStart);
    CHECK(s.poll(cx).is_pending());
    CHECK(cx.deadline == kStart + 250us);
  }
  {
    ManualContext cx(Waker(), kStart + 249us);
    CHECK(s.poll(cx).is_pending());
    CHECK(cx.deadline == kStart + 250us);
  }
  ManualContext cx(Waker(), kStart + 250us);
  CHECK(s.poll(cx).is_ready());
  CHECK(cx.deadline == kNever);
}

TEST_CASE("sleep_until a time already past is Ready at once") {
  Sleep s = sleep_until(kStart);
  ManualContext cx(Waker(), kStart + 1us);
  CHECK(s.poll(cx).is_ready());
}

TEST_CASE("with_timeout completes with the output when the machine finishes in time") {
  testing::Gate gate;
  auto op = with_timeout(testing::TakeFromGate(gate, 5), 10ms);
  {
    ManualContext cx(Waker(), kStart);
    CHECK(op.poll(cx).is_pending());
    CHECK(cx.deadline == kStart + 10ms);
  }
  gate.give();
  ManualContext cx(Waker(), kStart + 10ms);  // even at the deadline: the machine is polled first
  Poll<Result<int, TimedOut>> done = op.poll(cx);
  REQUIRE(done.is_ready());
  REQUIRE(done.value().ok());
  CHECK(done.value().value() == 5);
}

TEST_CASE("with_timeout gives up at the deadline and the abandoned machine leaves no waiter") {
  testing::Gate gate;
  {
    auto op = with_timeout(testing::TakeFromGate(gate, 5), 10ms);
    ManualContext start(Waker(), kStart);
    CHECK(op.poll(start).is_pending());
    CHECK(gate.has_waiter());
    ManualContext later(Waker(), kStart + 10ms);
    Poll<Result<int, TimedOut>> done = op.poll(later);
    REQUIRE(done.is_ready());
    CHECK_FALSE(done.value().ok());
    CHECK(done.value().error() == TimedOut::kTimedOut);
  }
  // The gate is a WakerSlot resource: the slot is not cleared by a drop (see waiter_list.h for
  // resources that forget dropped waiters), but waking it is harmless: nobody is polled.
  gate.give();
}

}  // namespace
}  // namespace pollstack
