#pragma once
// Small machines for exercising the vocabulary: they know nothing but the poll contract.

#include <cstdint>

#include "statemachines/state_cell.h"
#include "statemachines/state_machine.h"
#include "statemachines/waker_slot.h"
#include "tests/statemachines/manual_context.h"

namespace pollstack::testing {

// A resource with `permits` units; take() from a machine, give() from anywhere on the owning
// thread. Stands for "room in a ring": the thing a real layer waits for.
class Gate {
 public:
  bool try_take(const Waker& waker) {
    if (permits_ > 0) {
      --permits_;
      return true;
    }
    waiter_.store(waker);
    return false;
  }
  void give() {
    ++permits_;
    waiter_.wake();
  }
  bool has_waiter() const { return !waiter_.is_empty(); }

 private:
  int permits_ = 0;
  WakerSlot waiter_;
};

// Completes with `value` after taking one permit from the gate: Pending until it gets one.
class TakeFromGate {
 public:
  using Output = int;
  TakeFromGate(Gate& gate, int value) : gate_(&gate), value_(value) {}

  Poll<int> poll(Context& cx) {
    state_.expect_pollable();
    ++polls;
    if (!gate_->try_take(cx.waker())) return pending;
    state_.set(State::Done);
    return value_;
  }

  int polls = 0;

 private:
  enum class State : std::uint8_t { Waiting, Done };
  static constexpr auto kTransitions = transitions(State::Waiting, {{State::Waiting, State::Done, "gate open"}});
  Gate* gate_;
  int value_;
  StateCell<TakeFromGate, &kTransitions> state_{State::Waiting};
};

// Returns Pending `n` times, waking itself through the context each time (a yield), then Ready.
class Countdown {
 public:
  using Output = int;
  explicit Countdown(int n) : remaining_(n) {}

  Poll<int> poll(Context& cx) {
    state_.expect_pollable();
    ++polls;
    if (remaining_ > 0) {
      --remaining_;
      cx.waker().wake();
      return pending;
    }
    state_.set(State::Done);
    return polls;
  }

  int polls = 0;

 private:
  enum class State : std::uint8_t { Counting, Done };
  static constexpr auto kTransitions = transitions(State::Counting, {{State::Counting, State::Done, "count reached 0"}});
  int remaining_;
  StateCell<Countdown, &kTransitions> state_{State::Counting};
};

// Ready with `value` on the first poll.
class Immediate {
 public:
  using Output = int;
  explicit Immediate(int value) : value_(value) {}
  Poll<int> poll(Context&) {
    state_.expect_pollable();
    state_.set(State::Done);
    return value_;
  }

 private:
  enum class State : std::uint8_t { Start, Done };
  static constexpr auto kTransitions = transitions(State::Start, {{State::Start, State::Done, "first poll"}});
  int value_;
  StateCell<Immediate, &kTransitions> state_{State::Start};
};

// Counts wakes: a waker whose data is an int.
inline void count_wake(void* data) noexcept { ++*static_cast<int*>(data); }
inline Waker counting_waker(int& counter) { return Waker(&count_wake, &counter); }

}  // namespace pollstack::testing
