#pragma once
// FakeChannel: an in-memory network device (the NIC contract, layers/nic/nic.h), so a layer can
// be tested alone and deterministically: the test decides when TX room appears (set_tx_slots) and
// which frames arrive (inject), and reads what the stack sent (take_sent). Waiting reservations
// queue first come, first served, like the real channel's. The stack's side allocates nothing
// (sent frames wait in fixed storage; a received frame's bytes were allocated by inject()).

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "layers/nic/nic.h"
#include "layers/nic/nic_operation.h"
#include "statemachines/context.h"
#include "statemachines/contract.h"
#include "statemachines/poll.h"
#include "statemachines/state_cell.h"
#include "statemachines/waiter_list.h"

namespace pollstack::net::testing {

using Frame = std::vector<std::byte>;

class FakeChannel {
 public:
  static constexpr std::size_t kSlots = 8;
  static constexpr std::size_t kBufferBytes = 2048;
  static constexpr std::size_t kRxBuffers = 256;  // as the hosted channel lends the driver

  class TxBuffer {
   public:
    TxBuffer(TxBuffer&& o) noexcept : channel_(std::exchange(o.channel_, nullptr)), slot_(o.slot_) {}
    TxBuffer& operator=(TxBuffer&&) = delete;
    ~TxBuffer() {
      if (channel_ != nullptr) channel_->release(slot_);
    }
    std::span<std::byte> bytes() noexcept { return channel_->slots_[slot_]; }
    bool submit(std::uint32_t length) noexcept {
      FakeChannel* c = std::exchange(channel_, nullptr);
      const bool up = c->link_up_;
      if (up) c->record_sent(std::span(c->slots_[slot_]).first(length));
      c->release(slot_);
      return up;
    }

   private:
    friend class FakeChannel;
    TxBuffer(FakeChannel& c, std::size_t slot) noexcept : channel_(&c), slot_(slot) {}
    FakeChannel* channel_;
    std::size_t slot_;
  };

  class RxBuffer {
   public:
    RxBuffer(RxBuffer&& o) noexcept : channel_(std::exchange(o.channel_, nullptr)), frame_(std::move(o.frame_)) {}
    RxBuffer& operator=(RxBuffer&&) = delete;
    ~RxBuffer() {
      if (channel_ != nullptr) --channel_->rx_held_;
    }
    std::span<const std::byte> bytes() const noexcept { return frame_; }

   private:
    friend class FakeChannel;
    RxBuffer(FakeChannel& c, Frame f) noexcept : channel_(&c), frame_(std::move(f)) { ++c.rx_held_; }
    FakeChannel* channel_;
    Frame frame_;
  };

 private:
  // The device's one try for each operation (see NicOperation); declared before the aliases below.
  Poll<NicResult<TxBuffer>> poll_reserve(Waiter& waiter, Context& cx) noexcept {
    if (!link_up_) {
      tx_waiters_.claimed(waiter);
      return NicResult<TxBuffer>(NicError::kLinkDown);
    }
    if (tx_out_ < tx_limit_ && tx_waiters_.may_take(waiter)) {
      for (std::size_t i = 0; i < kSlots; ++i) {
        if (!used_[i]) {
          used_[i] = true;
          ++tx_out_;
          tx_waiters_.claimed(waiter);
          return NicResult<TxBuffer>(TxBuffer(*this, i));
        }
      }
    }
    ++tx_pending_polls_;
    tx_waiters_.wait(waiter, cx.waker());
    return pending;
  }
  Poll<NicResult<RxBuffer>> poll_receive(Waiter& waiter, Context& cx) noexcept {
    if (late_) inbox_.push_back(*std::exchange(late_, std::nullopt));
    if (std::optional<NicResult<RxBuffer>> got = try_receive()) {
      rx_waiters_.claimed(waiter);
      return std::move(*got);
    }
    rx_waiters_.wait(waiter, cx.waker());
    return pending;
  }
 public:
  using TxReservation = NicOperation<FakeChannel, TxBuffer, &FakeChannel::poll_reserve>;
  using Receive = NicOperation<FakeChannel, RxBuffer, &FakeChannel::poll_receive>;

  TxReservation reserve_tx() noexcept { return TxReservation(*this); }
  Receive receive() noexcept { return Receive(*this); }
  std::optional<NicResult<RxBuffer>> try_receive() noexcept {
    if (!link_up_) return NicResult<RxBuffer>(NicError::kLinkDown);
    if (inbox_.empty()) return std::nullopt;
    Frame f = std::move(inbox_.front());
    inbox_.pop_front();
    return NicResult<RxBuffer>(RxBuffer(*this, std::move(f)));
  }

  // ---- the test's side ----
  void inject(Frame frame) {
    inbox_.push_back(std::move(frame));
    rx_waiters_.notify_one();
  }
  /// A frame that lands after try_receive() found the ring empty and before the receive operation
  /// looks (on a real device, the driver's thread delivering in between): only the operation's
  /// next poll finds it.
  void inject_late(Frame frame) { late_ = std::move(frame); }
  std::optional<Frame> take_sent() {
    if (sent_count_ == 0) return std::nullopt;
    const SentFrame& sent = sent_[sent_head_];
    Frame f(sent.bytes.begin(), sent.bytes.begin() + static_cast<std::ptrdiff_t>(sent.length));
    sent_head_ = (sent_head_ + 1) % kSentFrames;
    --sent_count_;
    return f;
  }
  std::size_t sent_count() const { return sent_count_; }
  /// How many TX buffers may be out at once (0: the channel is full).
  void set_tx_slots(std::size_t n) {
    tx_limit_ = n;
    tx_waiters_.notify_all();
  }
  void set_link_down() {
    link_up_ = false;
    tx_waiters_.notify_all();
    rx_waiters_.notify_all();
  }
  std::size_t rx_held() const { return rx_held_; }
  std::size_t tx_pending_polls() const { return tx_pending_polls_; }

 private:
  void release(std::size_t slot) noexcept {
    used_[slot] = false;
    --tx_out_;
    tx_waiters_.notify_one();
  }

  std::array<std::array<std::byte, kBufferBytes>, kSlots> slots_{};
  std::array<bool, kSlots> used_{};
  std::size_t tx_out_ = 0;
  std::size_t tx_limit_ = kSlots;
  std::size_t tx_pending_polls_ = 0;
  std::size_t rx_held_ = 0;
  bool link_up_ = true;
  // What the stack sent, until the test takes it: fixed storage, so that sending allocates
  // nothing (the simulator runs the stacks with the heap forbidden).
  static constexpr std::size_t kSentFrames = 256;
  struct SentFrame {
    std::size_t length = 0;
    std::array<std::byte, kBufferBytes> bytes;
  };
  void record_sent(std::span<const std::byte> frame) noexcept {
    expect(sent_count_ < kSentFrames, "FakeChannel: more sent frames than the test took (kSentFrames)");
    SentFrame& slot = sent_[(sent_head_ + sent_count_) % kSentFrames];
    slot.length = frame.size();
    std::copy(frame.begin(), frame.end(), slot.bytes.begin());
    ++sent_count_;
  }
  std::array<SentFrame, kSentFrames> sent_;
  std::size_t sent_head_ = 0;
  std::size_t sent_count_ = 0;
  std::deque<Frame> inbox_;
  std::optional<Frame> late_;
  WaiterList tx_waiters_;
  WaiterList rx_waiters_;
};

static_assert(Nic<FakeChannel>);

}  // namespace pollstack::net::testing
