#pragma once
/// by_ref(machine): a machine that polls another one where it lives. For a machine that cannot
/// move (its operations point into its own buffers, as a service with a receive buffer does) but
/// must be a task of an Executor, which holds its tasks by value. Size: one pointer.
///
/// The machine must outlive the ByRef, and must not be polled by anyone else meanwhile. An adapter
/// with no state of its own: the machine it forwards to keeps the poll contract (its StateCell
/// catches a poll after Ready).

#include "statemachines/state_machine.h"

namespace pollstack {

template <StateMachine M>
class ByRef {
 public:
  using Output = OutputOf<M>;
  constexpr explicit ByRef(M& machine) noexcept : machine_(&machine) {}
  Poll<Output> poll(Context& cx) { return machine_->poll(cx); }

 private:
  M* machine_;
};

template <StateMachine M>
constexpr ByRef<M> by_ref(M& machine) noexcept {
  return ByRef<M>(machine);
}

}  // namespace pollstack
