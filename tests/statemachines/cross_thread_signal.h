#pragma once
// A one-shot signal raised from another thread: the minimal thread-safe resource, to test that
// wakers work across threads. Test-only (it uses a mutex).

#include <cstdint>
#include <mutex>

#include "statemachines/state_cell.h"
#include "statemachines/state_machine.h"

namespace pollstack::testing {

class CrossThreadSignal {
 public:
  void raise() {
    Waker to_wake;
    {
      std::lock_guard lock(mutex_);
      raised_ = true;
      to_wake = waiter_;
      waiter_ = Waker();
    }
    to_wake.wake();
  }

  bool check(const Waker& waker) {
    std::lock_guard lock(mutex_);
    if (!raised_) waiter_ = waker;
    return raised_;
  }

 private:
  std::mutex mutex_;
  bool raised_ = false;
  Waker waiter_;
};

// Pending until the signal is raised, then Ready with the number of polls it took.
class AwaitSignal {
 public:
  using Output = int;
  explicit AwaitSignal(CrossThreadSignal& signal) : signal_(&signal) {}

  Poll<int> poll(Context& cx) {
    state_.expect_pollable();
    ++polls_;
    if (!signal_->check(cx.waker())) return pending;
    state_.set(State::Done);
    return polls_;
  }

 private:
  enum class State : std::uint8_t { Waiting, Done };
  static constexpr auto kTransitions = transitions(State::Waiting, {{State::Waiting, State::Done, "signalled"}});
  CrossThreadSignal* signal_;
  int polls_ = 0;
  StateCell<AwaitSignal, &kTransitions> state_{State::Waiting};
};

}  // namespace pollstack::testing
