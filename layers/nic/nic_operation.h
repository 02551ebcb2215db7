#pragma once
/// NicOperation: the state machine a device returns from reserve_tx() and receive(), written once
/// for every implementation of the NIC contract. It holds the operation's place in the device's
/// queue of waiters (a Waiter: left when the operation is dropped) and calls the device's one
/// attempt, `(device.*Attempt)(waiter, cx)`, until it is Ready with a buffer or an error.

#include <cstdint>

#include "layers/nic/nic.h"
#include "statemachines/state_cell.h"
#include "statemachines/state_machine.h"
#include "statemachines/waiter_list.h"

namespace pollstack::net {

template <class Device, class Buffer, Poll<NicResult<Buffer>> (Device::*Attempt)(Waiter&, Context&) noexcept>
class NicOperation {
 public:
  using Output = NicResult<Buffer>;
  explicit NicOperation(Device& device) noexcept : device_(&device) {}

  Poll<Output> poll(Context& cx) noexcept {
    state_.expect_pollable();
    Poll<Output> result = (device_->*Attempt)(waiter_, cx);
    if (result.is_ready()) state_.set(State::Done);
    return result;
  }

 private:
  enum class State : std::uint8_t { Waiting, Done };
  static constexpr auto kTransitions = transitions(State::Waiting, {
      {State::Waiting, State::Done, "the device's attempt Ready: a buffer, or the device's error"},
  });
  Device* device_;
  Waiter waiter_;
  StateCell<NicOperation, &kTransitions> state_{State::Waiting};
};

}  // namespace pollstack::net
