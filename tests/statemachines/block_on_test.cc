#include "statemachines/hosted/block_on.h"

#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include "tests/statemachines/cross_thread_signal.h"
#include "tests/statemachines/test_machines.h"

namespace pollstack {
namespace {

TEST_CASE("block_on returns the output of an immediately ready machine") {
  CHECK(block_on(testing::Immediate(11)) == 11);
}

TEST_CASE("block_on re-polls after each self-wake") {
  testing::Countdown countdown(10);
  CHECK(block_on(countdown) == 11);
  CHECK(countdown.polls == 11);
}

TEST_CASE("block_on sleeps until a waker fired from another thread") {
  for (int round = 0; round < 20; ++round) {  // vary the race between raise and park
    testing::CrossThreadSignal signal;
    std::thread raiser([&signal, round] {
      std::this_thread::sleep_for(std::chrono::microseconds(round * 250));
      signal.raise();
    });
    CHECK(block_on(testing::AwaitSignal(signal)) >= 1);
    raiser.join();
  }
}

}  // namespace
}  // namespace pollstack
