#pragma once
/// select(a, b): run two machines; complete with the output of whichever is Ready first. The other
/// is abandoned unfinished (it is destroyed with the Select, which is how an operation is
/// cancelled here: resources release on destruction).
///
/// Biased: `a` is polled first, so when both are ready in the same poll, `a` wins. That is
/// deterministic and is what a timeout wants (select(operation, timer)). Size: both machines and
/// one state byte.

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <variant>

#include "statemachines/state_cell.h"
#include "statemachines/state_machine.h"

namespace pollstack {

template <StateMachine A, StateMachine B>
class Select {
 public:
  static_assert(!std::is_void_v<OutputOf<A>> && !std::is_void_v<OutputOf<B>>,
                "select(): outputs must be values; map() a void machine to a value first");
  /// index() 0: `a` finished first; 1: `b` did.
  using Output = std::variant<OutputOf<A>, OutputOf<B>>;

  constexpr Select(A a, B b) : a_(std::move(a)), b_(std::move(b)) {}

  Poll<Output> poll(Context& cx) {
    state_.expect_pollable();
    if (Poll<OutputOf<A>> a = a_.poll(cx); a.is_ready()) {
      state_.set(State::Done);
      return Output(std::in_place_index<0>, std::move(a).value());
    }
    if (Poll<OutputOf<B>> b = b_.poll(cx); b.is_ready()) {
      state_.set(State::Done);
      return Output(std::in_place_index<1>, std::move(b).value());
    }
    return pending;
  }

 private:
  enum class State : std::uint8_t { Running, Done };
  static constexpr auto kTransitions = transitions(State::Running, {
      {State::Running, State::Done, "a or b Ready (a checked first)"},
  });

  A a_;
  B b_;
  StateCell<Select, &kTransitions> state_{State::Running};
};

template <StateMachine A, StateMachine B>
constexpr Select<A, B> select(A a, B b) {
  return Select<A, B>(std::move(a), std::move(b));
}

}  // namespace pollstack
