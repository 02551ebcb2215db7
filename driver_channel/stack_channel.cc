#include "driver_channel/stack_channel.h"

#include <memory>

namespace pollstack::driver_channel {

// ---- TxBuffer / RxBuffer: owning handles -------------------------------------------------------

bool TxBuffer::submit(std::uint32_t length) noexcept {
  expect(channel_ != nullptr, "TxBuffer::submit() twice");
  expect(length <= kBufferBytes, "TxBuffer::submit(): frame longer than the buffer");
  StackChannel* channel = std::exchange(channel_, nullptr);
  return channel->submit_tx(buffer_, length);
}


// ---- StackChannel -----------------------------------------------------------------------------

StackChannel::StackChannel(SharedRegion& region, Doorbell* driver_doorbell) noexcept
    : region_(&region),
      driver_doorbell_(driver_doorbell),
      tx_(region.layout().tx),
      tx_done_(region.layout().tx_done),
      rx_(region.layout().rx),
      rx_fill_(region.layout().rx_fill) {
  lend_rx_fill();
}

void StackChannel::lend_rx_fill() noexcept {
  for (std::uint32_t i = 0; i < kRxFillBuffers; ++i) {
    if (std::optional<std::uint32_t> b = ledger_.take_free()) lend_for_rx(*b);
  }
}

void StackChannel::reattach() noexcept {
  expect(!link_up_, "StackChannel::reattach() while the link is up");
  RegionLayout& layout = region_->layout();
  for (RingShared* ring : {&layout.tx, &layout.tx_done, &layout.rx, &layout.rx_fill}) {
    std::destroy_at(ring);
    std::construct_at(ring);
  }
  tx_ = RingProducer(layout.tx);
  tx_done_ = RingConsumer(layout.tx_done);
  rx_ = RingConsumer(layout.rx);
  rx_fill_ = RingProducer(layout.rx_fill);
  link_up_ = true;
  lend_rx_fill();
}

void StackChannel::lend_for_rx(std::uint32_t buffer) noexcept {
  if (!link_up_) {
    ledger_.release(buffer);
    return;
  }
  ledger_.lend(buffer, BufferState::kLentForRx);
  // The fill ring can hold every buffer (kRingCapacity >= kBufferCount), so it is never full
  // unless the driver stopped consuming it while returning the buffers in it: a protocol fault.
  // link_down() then reclaims this buffer with the others.
  if (!rx_fill_.stage(Descriptor{buffer, 0, kBufferBytes, 0})) {
    protocol_fault();
    return;
  }
  if (batch_depth_ == 0 || rx_fill_.staged() >= kMaxBatch) publish_rx_fill();
}

void StackChannel::publish_rx_fill() noexcept {
  if (rx_fill_.publish() > 0 && driver_doorbell_ != nullptr && rx_fill_.take_consumer_sleeping()) {
    ring_driver_doorbell();
  }
}

void StackChannel::publish_tx() noexcept {
  // One doorbell decision (and its full barrier) per batch, not per frame.
  if (tx_.publish() > 0 && driver_doorbell_ != nullptr && tx_.take_consumer_sleeping()) ring_driver_doorbell();
}

void StackChannel::flush() noexcept {
  check_ring_faults();  // nothing is published to a driver that just broke the protocol
  if (!link_up_) return;  // nor after: what is staged names buffers link_down() reclaimed
  publish_tx();
  publish_rx_fill();
}

void StackChannel::protocol_fault() noexcept {
  if (link_up_) ++counters_.ring_faults;
  link_down();
}

void StackChannel::ring_driver_doorbell() noexcept {
  if (driver_doorbell_ == nullptr) return;
  driver_doorbell_->ring();
  ++counters_.doorbells_rung;
}

std::uint32_t StackChannel::reap_tx_done() noexcept {
  // Called on every reservation: the common case, nothing completed since the last call, must not
  // pay for setting up the batch array (32 descriptors with default initializers).
  if (tx_done_.available() == 0) return 0;
  Descriptor done[kMaxBatch];
  const std::uint32_t n = tx_done_.pop(done);
  std::uint32_t freed = 0;
  for (std::uint32_t i = 0; i < n; ++i) freed += !ledger_.accept_tx_done(done[i]).has_value();
  counters_.tx_completed += freed;
  return freed;
}

void StackChannel::check_ring_faults() noexcept {
  if (tx_.fault() != RingFault::kNone || tx_done_.fault() != RingFault::kNone ||
      rx_.fault() != RingFault::kNone || rx_fill_.fault() != RingFault::kNone) {
    protocol_fault();
  }
}

std::optional<ChannelResult<TxBuffer>> StackChannel::try_reserve_tx() noexcept {
  if (!tx_waiters_.is_empty()) return std::nullopt;  // others were first
  return reserve_now();
}

std::optional<ChannelResult<TxBuffer>> StackChannel::reserve_now() noexcept {
  if (!link_up_) return ChannelResult<TxBuffer>(ChannelError::kLinkDown);
  reap_tx_done();
  check_ring_faults();
  if (!link_up_) return ChannelResult<TxBuffer>(ChannelError::kLinkDown);
  if (tx_.free_slots() > tx_reserved_) {
    if (std::optional<std::uint32_t> b = ledger_.take_free()) {
      ++tx_reserved_;
      return ChannelResult<TxBuffer>(TxBuffer(*this, *b));
    }
  }
  // No room: let the driver see what a batch holds, so that it can send it and give room back.
  // (flush() checks the rings first: a fault the room check just found takes the link down here,
  // and the caller must not then wait for a wake that link_down() has already given.)
  flush();
  if (!link_up_) return ChannelResult<TxBuffer>(ChannelError::kLinkDown);
  return std::nullopt;
}

Poll<ChannelResult<TxBuffer>> StackChannel::poll_reserve_tx(Waiter& waiter, Context& cx) noexcept {
  if (tx_waiters_.may_take(waiter)) {
    if (std::optional<ChannelResult<TxBuffer>> r = reserve_now()) {
      tx_waiters_.claimed(waiter);
      // reserve_now() may have taken back more than this one buffer (completions are reaped on
      // every reservation, not only in service()): pass the room on to the next in line.
      if (!tx_waiters_.is_empty() && has_tx_room()) tx_waiters_.notify_one();
      return std::move(*r);
    }
  }
  ++counters_.tx_pending;
  tx_waiters_.wait(waiter, cx.waker());
  return pending;
}

bool StackChannel::submit_tx(std::uint32_t buffer, std::uint32_t length) noexcept {
  --tx_reserved_;
  if (!link_up_) {
    ++counters_.tx_dropped_link_down;
    ledger_.release(buffer);
    return false;
  }
  ledger_.lend(buffer, BufferState::kLentForTx);
  if (!tx_.stage(Descriptor{buffer, 0, length, 0})) {  // the slot was reserved: only a ring fault gets here
    ++counters_.tx_dropped_link_down;
    protocol_fault();  // reclaims the buffer
    return false;
  }
  ++counters_.tx_submitted;
  if (tap_ != nullptr) tap_(tap_context_, FrameDirection::kSent, std::span(region_->buffer(buffer)).first(length));
  if (batch_depth_ == 0 || tx_.staged() >= kMaxBatch) publish_tx();
  return true;
}

void StackChannel::cancel_tx(std::uint32_t buffer) noexcept {
  --tx_reserved_;
  ledger_.release(buffer);
  tx_waiters_.notify_one();  // a buffer and a slot are free again: the next in line
}

Poll<ChannelResult<RxBuffer>> StackChannel::poll_receive(Waiter& waiter, Context& cx) noexcept {
  if (std::optional<ChannelResult<RxBuffer>> r = try_receive()) {
    rx_waiters_.claimed(waiter);
    return std::move(*r);
  }
  rx_waiters_.wait(waiter, cx.waker());
  return pending;
}

bool StackChannel::service() noexcept {
  if (!link_up_) return false;
  flush();
  bool woke = false;
  // One waiter per buffer given back (bounded: reaping takes at most kMaxBatch).
  for (std::uint32_t freed = reap_tx_done(); freed > 0 && tx_waiters_.notify_one(); --freed) woke = true;
  if (rx_.available() > 0 && rx_waiters_.notify_one()) woke = true;
  check_ring_faults();
  return woke || !link_up_;  // a fault just took the link down, which woke the waiters
}

bool StackChannel::prepare_to_sleep() noexcept {
  flush();  // nothing held back while we sleep
  return link_up_ && tx_done_.prepare_to_sleep() && rx_.prepare_to_sleep();
}

void StackChannel::link_down() noexcept {
  if (!link_up_) return;
  link_up_ = false;
  ++counters_.link_downs;
  // Staged descriptors are never published now (flush() does nothing while the link is down, and
  // reattach() starts the rings afresh): their buffers are reclaimed with the others.
  ledger_.reclaim_lent();
  tx_waiters_.notify_all();
  rx_waiters_.notify_all();
}

}  // namespace pollstack::driver_channel
