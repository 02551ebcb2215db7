#pragma once
// Pump: a test task that sends `total` numbered frames and receives them back (through a loopback
// driver), checking order. A plain state machine, bounded work per poll. `on_received` runs after
// each frame comes back (tests use it to kill a driver mid-stream).

#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>

#include "driver_channel/stack_channel.h"

namespace pollstack::driver_channel::testing {

struct Pump {
  using Output = bool;  // true: all frames came back; false: the link went down

  StackChannel* channel;
  std::uint32_t total;
  std::uint32_t frame_bytes = 64;
  std::function<void(std::uint32_t received)> on_received = nullptr;
  std::uint32_t sent = 0;
  std::uint32_t received = 0;
  std::uint32_t out_of_order = 0;
  std::optional<StackChannel::TxReservation> reserving{};
  std::optional<StackChannel::Receive> receiving{};

  Poll<bool> poll(Context& cx) {
    for (int budget = 0; budget < 64; ++budget) {
      bool progressed = false;
      if (sent < total) {
        if (!reserving) reserving.emplace(*channel);
        Poll<ChannelResult<TxBuffer>> p = reserving->poll(cx);
        if (p.is_ready()) {
          reserving.reset();
          if (!p.value().ok()) return false;
          TxBuffer tx = std::move(p.value().value());
          std::memcpy(tx.bytes().data(), &sent, sizeof sent);
          if (!tx.submit(frame_bytes)) return false;
          ++sent;
          progressed = true;
        }
      }
      if (!receiving) receiving.emplace(*channel);
      Poll<ChannelResult<RxBuffer>> r = receiving->poll(cx);
      if (r.is_ready()) {
        receiving.reset();
        if (!r.value().ok()) return false;
        std::uint32_t seq = 0;
        std::memcpy(&seq, r.value().value().bytes().data(), sizeof seq);
        out_of_order += seq != received;
        ++received;
        if (on_received) on_received(received);
        if (received == total) return true;
        progressed = true;
      }
      if (!progressed) return pending;
    }
    cx.waker().wake();  // budget spent: yield and come back
    return pending;
  }
};

}  // namespace pollstack::driver_channel::testing
