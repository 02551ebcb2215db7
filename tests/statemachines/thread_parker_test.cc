#include "statemachines/hosted/thread_parker.h"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace pollstack {
namespace {

TEST_CASE("an unpark before park makes park return at once, once") {
  ThreadParker parker;
  parker.unpark();
  parker.unpark();  // notifications do not accumulate
  parker.park();    // returns at once
  std::atomic<bool> woke{false};
  std::thread waker([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    woke.store(true);
    parker.unpark();
  });
  parker.park();  // sleeps until the thread unparks
  CHECK(woke.load());
  waker.join();
}

TEST_CASE("ping-pong between two threads loses no wake") {
  constexpr int kRounds = 20000;
  ThreadParker main_parker;
  ThreadParker helper_parker;
  std::atomic<int> turn{0};  // even: main's turn to pass; odd: helper's
  std::thread helper([&] {
    for (int i = 0; i < kRounds; ++i) {
      while (turn.load(std::memory_order_acquire) != 2 * i + 1) helper_parker.park();
      turn.store(2 * i + 2, std::memory_order_release);
      main_parker.unpark();
    }
  });
  for (int i = 0; i < kRounds; ++i) {
    turn.store(2 * i + 1, std::memory_order_release);
    helper_parker.unpark();
    while (turn.load(std::memory_order_acquire) != 2 * i + 2) main_parker.park();
  }
  helper.join();
  CHECK(turn.load() == 2 * kRounds);
}

TEST_CASE("the parker's waker unparks it") {
  ThreadParker parker;
  const Waker w = parker.waker();
  std::thread t([w] { w.wake(); });
  parker.park();
  t.join();
  CHECK(true);  // reaching here is the test: park() returned
}

}  // namespace
}  // namespace pollstack
