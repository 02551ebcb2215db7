#pragma once
/// The StateMachine concept: anything with an Output type and `Poll<Output> poll(Context&)`.
///
/// Every operation in the stack (a layer's send, a socket's receive, a combinator) is such a
/// struct, holding the machines it drives by value, so a composed operation is one object whose
/// size is known at compile time. See poll.h for the contract every poll() follows.

#include <concepts>

#include "statemachines/context.h"
#include "statemachines/poll.h"

namespace pollstack {

template <class M>
concept StateMachine = requires(M& m, Context& cx) {
  typename M::Output;
  { m.poll(cx) } -> std::same_as<Poll<typename M::Output>>;
};

/// The output type of a state machine.
template <StateMachine M>
using OutputOf = typename M::Output;

}  // namespace pollstack
