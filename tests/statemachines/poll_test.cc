#include "statemachines/poll.h"

#include <doctest/doctest.h>

#include "statemachines/state_machine.h"
#include "tests/statemachines/test_machines.h"

namespace pollstack {
namespace {

TEST_CASE("Poll<T> is Pending or Ready with a value") {
  Poll<int> p = pending;
  CHECK(p.is_pending());
  CHECK_FALSE(p.is_ready());

  p = 42;
  REQUIRE(p.is_ready());
  CHECK(p.value() == 42);
}

TEST_CASE("Poll<void> is Pending or Ready") {
  Poll<void> p = pending;
  CHECK(p.is_pending());
  p = ready();
  CHECK(p.is_ready());
}

TEST_CASE("Poll holds its value in place") {
  struct Big {
    char bytes[40];
  };
  static_assert(sizeof(Poll<Big>) <= sizeof(Big) + alignof(Big));
  static_assert(sizeof(Poll<void>) == 1);
}

struct NoOutput {
  Poll<int> poll(Context&);
};
struct WrongReturn {
  using Output = int;
  int poll(Context&);
};

TEST_CASE("StateMachine concept accepts poll machines and rejects look-alikes") {
  static_assert(StateMachine<testing::Countdown>);
  static_assert(StateMachine<testing::TakeFromGate>);
  static_assert(!StateMachine<NoOutput>);
  static_assert(!StateMachine<WrongReturn>);
  static_assert(!StateMachine<int>);
  CHECK(true);  // the assertions above are the test; doctest wants one check per case
}

}  // namespace
}  // namespace pollstack
