#include "statemachines/sleep.h"

#include <doctest/doctest.h>

#include "statemachines/timeout.h"
#include "statemachines/waiter_list.h"
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

// Waits on a WaiterList forever (nothing ever gives it what it waits for).
struct WaitForever {
  using Output = int;
  WaiterList* list;
  Waiter waiter;
  Poll<int> poll(Context& cx) {
    list->wait(waiter, cx.waker());
    return pending;
  }
};

TEST_CASE("with_timeout gives up at the deadline and the abandoned machine leaves no waiter") {
  WaiterList list;
  {
    auto op = with_timeout(WaitForever{&list, {}}, 10ms);
    ManualContext start(Waker(), kStart);
    CHECK(op.poll(start).is_pending());
    CHECK(list.size() == 1);
    ManualContext later(Waker(), kStart + 10ms);
    Poll<Result<int, TimedOut>> done = op.poll(later);
    REQUIRE(done.is_ready());
    CHECK_FALSE(done.value().ok());
    CHECK(done.value().error() == TimedOut::kTimedOut);
    CHECK(list.size() == 1);  // still alive inside the finished Timeout...
  }
  CHECK(list.is_empty());  // ...and gone with it
}

TEST_CASE("sleeping until kNever, or for longer than time lasts, never completes and never overflows") {
  Sleep forever = sleep_until(kNever);
  ManualContext cx(Waker(), kStart);
  CHECK(forever.poll(cx).is_pending());
  CHECK(cx.deadline == kNever);
  Sleep longest = sleep_for(Duration::max());
  ManualContext cx2(Waker(), kStart);
  CHECK(longest.poll(cx2).is_pending());
  CHECK(longest.deadline() == kNever);  // saturated, not wrapped into the past
  auto op = with_timeout(testing::Immediate(3), Duration::max());
  ManualContext cx3(Waker(), kStart);
  CHECK(op.poll(cx3).is_ready());
}

}  // namespace
}  // namespace pollstack
