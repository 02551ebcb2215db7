#pragma once
// FakeChannel: an in-memory stand-in for driver_channel::StackChannel, so a layer can be tested
// alone and deterministically: the test decides when TX room appears (set_tx_slots) and which
// frames arrive (inject), and reads what the stack sent (take_sent). Same API shape as the real
// channel: reserve_tx()/receive() operations, owning buffer handles.

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "driver_channel/stack_channel.h"
#include "statemachines/context.h"
#include "statemachines/poll.h"
#include "statemachines/waker_slot.h"

namespace pollstack::net::testing {

using Frame = std::vector<std::byte>;

class FakeChannel {
 public:
  static constexpr std::size_t kSlots = 8;
  static constexpr std::size_t kBufferBytes = 2048;

  class TxBufferType {
   public:
    TxBufferType(TxBufferType&& o) noexcept : channel_(std::exchange(o.channel_, nullptr)), slot_(o.slot_) {}
    TxBufferType& operator=(TxBufferType&&) = delete;
    ~TxBufferType() {
      if (channel_ != nullptr) channel_->release(slot_);
    }
    std::span<std::byte> bytes() noexcept { return channel_->slots_[slot_]; }
    bool submit(std::uint32_t length) noexcept {
      FakeChannel* c = std::exchange(channel_, nullptr);
      const bool up = c->link_up_;
      if (up) c->sent_.emplace_back(c->slots_[slot_].begin(), c->slots_[slot_].begin() + length);
      c->release(slot_);
      return up;
    }

   private:
    friend class FakeChannel;
    TxBufferType(FakeChannel& c, std::size_t slot) noexcept : channel_(&c), slot_(slot) {}
    FakeChannel* channel_;
    std::size_t slot_;
  };

  class RxBufferType {
   public:
    RxBufferType(RxBufferType&& o) noexcept : channel_(std::exchange(o.channel_, nullptr)), frame_(std::move(o.frame_)) {}
    RxBufferType& operator=(RxBufferType&&) = delete;
    ~RxBufferType() {
      if (channel_ != nullptr) --channel_->rx_held_;
    }
    std::span<const std::byte> bytes() const noexcept { return frame_; }

   private:
    friend class FakeChannel;
    RxBufferType(FakeChannel& c, Frame f) noexcept : channel_(&c), frame_(std::move(f)) { ++c.rx_held_; }
    FakeChannel* channel_;
    Frame frame_;
  };

  template <class Buffer, bool IsTx>
  class Operation {
   public:
    using Output = driver_channel::ChannelResult<Buffer>;
    explicit Operation(FakeChannel& c) noexcept : channel_(&c) {}
    Poll<Output> poll(Context& cx) noexcept {
      if constexpr (IsTx) {
        return channel_->poll_reserve(cx);
      } else {
        return channel_->poll_receive(cx);
      }
    }

   private:
    FakeChannel* channel_;
  };
  using TxReservation = Operation<TxBufferType, true>;
  using Receive = Operation<RxBufferType, false>;

  TxReservation reserve_tx() noexcept { return TxReservation(*this); }
  Receive receive() noexcept { return Receive(*this); }
  std::optional<driver_channel::ChannelResult<RxBufferType>> try_receive() noexcept {
    if (!link_up_) return driver_channel::ChannelResult<RxBufferType>(driver_channel::ChannelError::kLinkDown);
    if (inbox_.empty()) return std::nullopt;
    Frame f = std::move(inbox_.front());
    inbox_.pop_front();
    return driver_channel::ChannelResult<RxBufferType>(RxBufferType(*this, std::move(f)));
  }

  // ---- the test's side ----
  void inject(Frame frame) {
    inbox_.push_back(std::move(frame));
    rx_waiter_.wake();
  }
  std::optional<Frame> take_sent() {
    if (sent_.empty()) return std::nullopt;
    Frame f = std::move(sent_.front());
    sent_.pop_front();
    return f;
  }
  std::size_t sent_count() const { return sent_.size(); }
  /// How many TX buffers may be out at once (0: the channel is full).
  void set_tx_slots(std::size_t n) {
    tx_limit_ = n;
    tx_waiter_.wake();
  }
  void set_link_down() {
    link_up_ = false;
    tx_waiter_.wake();
    rx_waiter_.wake();
  }
  std::size_t rx_held() const { return rx_held_; }
  std::size_t tx_pending_polls() const { return tx_pending_polls_; }

 private:
  Poll<driver_channel::ChannelResult<TxBufferType>> poll_reserve(Context& cx) noexcept {
    if (!link_up_) return driver_channel::ChannelResult<TxBufferType>(driver_channel::ChannelError::kLinkDown);
    if (tx_out_ < tx_limit_) {
      for (std::size_t i = 0; i < kSlots; ++i) {
        if (!used_[i]) {
          used_[i] = true;
          ++tx_out_;
          return driver_channel::ChannelResult<TxBufferType>(TxBufferType(*this, i));
        }
      }
    }
    ++tx_pending_polls_;
    tx_waiter_.store(cx.waker());
    return pending;
  }
  Poll<driver_channel::ChannelResult<RxBufferType>> poll_receive(Context& cx) noexcept {
    if (std::optional<driver_channel::ChannelResult<RxBufferType>> got = try_receive()) return std::move(*got);
    rx_waiter_.store(cx.waker());
    return pending;
  }
  void release(std::size_t slot) noexcept {
    used_[slot] = false;
    --tx_out_;
    tx_waiter_.wake();
  }

  std::array<std::array<std::byte, kBufferBytes>, kSlots> slots_{};
  std::array<bool, kSlots> used_{};
  std::size_t tx_out_ = 0;
  std::size_t tx_limit_ = kSlots;
  std::size_t tx_pending_polls_ = 0;
  std::size_t rx_held_ = 0;
  bool link_up_ = true;
  std::deque<Frame> sent_;
  std::deque<Frame> inbox_;
  WakerSlot tx_waiter_;
  WakerSlot rx_waiter_;
};

}  // namespace pollstack::net::testing
