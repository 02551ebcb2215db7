#include "tools/firmware/example_nic.h"

namespace pollstack::firmware {

namespace {
std::uint8_t lowest_bit(std::uint32_t mask) noexcept { return static_cast<std::uint8_t>(__builtin_ctz(mask)); }
std::uint32_t words(std::uint32_t bytes) noexcept { return (bytes + 3) / 4; }
}  // namespace

Poll<net::NicResult<ExampleNic::TxBuffer>> ExampleNic::poll_reserve(Waiter& waiter, Context& cx) noexcept {
  if (tx_free_ != 0 && tx_waiters_.may_take(waiter)) {
    const std::uint8_t index = lowest_bit(tx_free_);
    tx_free_ &= ~(1u << index);
    tx_waiters_.claimed(waiter);
    return net::NicResult<TxBuffer>(TxBuffer(*this, index));
  }
  tx_waiters_.wait(waiter, cx.waker());  // release_tx() wakes the first in line
  return pending;
}

Poll<net::NicResult<ExampleNic::RxBuffer>> ExampleNic::poll_receive(Waiter& waiter, Context& cx) noexcept {
  if (std::optional<net::NicResult<RxBuffer>> got = try_receive()) {
    rx_waiters_.claimed(waiter);
    return std::move(*got);
  }
  rx_waiters_.wait(waiter, cx.waker());  // service() wakes one waiter per received frame
  return pending;
}

void ExampleNic::queue_tx(std::uint8_t index, std::uint16_t length) noexcept {
  tx_length_[index] = length;
  // In order: straight into the MAC only if nothing submitted earlier still waits for room.
  if (tx_queue_count_ == 0 && write_frame(index)) {
    release_tx(index);
    return;
  }
  tx_queue_[(tx_queue_head_ + tx_queue_count_) % kTxBuffers] = index;  // never full: one entry per buffer
  ++tx_queue_count_;
  // Ask the MAC to interrupt when its TX FIFO has room again.
  mac_->write(&MacRegisters::int_en, mac::kIntRsfl | mac::kIntTdfa);
}

bool ExampleNic::write_frame(std::uint8_t index) noexcept {
  const std::uint32_t length = tx_length_[index];
  const std::uint32_t free_bytes = mac_->read(&MacRegisters::tx_fifo_inf) & 0xffff;
  if (free_bytes < 8 + 4 * words(length)) return false;
  // Command A (one segment: first and last, its size), command B (the frame's length), the data.
  mac_->write(&MacRegisters::tx_data, mac::kCmdAFirst | mac::kCmdALast | length);
  mac_->write(&MacRegisters::tx_data, length);
  const std::byte* frame = buffers_[index].data();
  for (std::uint32_t i = 0; i < words(length); ++i) {
    std::uint32_t word;
    std::memcpy(&word, frame + 4 * i, 4);  // within the buffer: kBufferBytes is a multiple of 4
    mac_->write(&MacRegisters::tx_data, word);
  }
  return true;
}

bool ExampleNic::pull_rx() noexcept {
  while (rx_free_ != 0 && rx_frames_waiting() > 0) {
    const std::uint32_t length = (mac_->read(&MacRegisters::rx_status) >> 16) & mac::kLengthMask;
    if (length == 0 || length > kBufferBytes) {  // cannot be a frame of ours: read it out, drop it
      for (std::uint32_t i = 0; i < words(length); ++i) (void)mac_->read(&MacRegisters::rx_data);
      continue;
    }
    const std::uint8_t index = lowest_bit(rx_free_);
    std::byte* frame = buffers_[kTxBuffers + index].data();
    for (std::uint32_t i = 0; i < words(length); ++i) {
      const std::uint32_t word = mac_->read(&MacRegisters::rx_data);
      std::memcpy(frame + 4 * i, &word, 4);
    }
    rx_free_ &= ~(1u << index);
    rx_length_[index] = static_cast<std::uint16_t>(length);
    rx_ready_[(rx_ready_head_ + rx_ready_count_) % kRxBuffers] = index;
    ++rx_ready_count_;
    return true;
  }
  return false;
}

bool ExampleNic::service() noexcept {
  irq_pending_.store(false, std::memory_order_relaxed);
  mac_->write(&MacRegisters::int_sts, mac_->read(&MacRegisters::int_sts));  // acknowledge what we handle now
  bool woke = false;
  // Frames waiting for TX FIFO room, in order; each one sent frees its buffer for the next waiter.
  while (tx_queue_count_ > 0 && write_frame(tx_queue_[tx_queue_head_])) {
    const std::uint8_t index = tx_queue_[tx_queue_head_];
    tx_queue_head_ = static_cast<std::uint8_t>((tx_queue_head_ + 1) % kTxBuffers);
    --tx_queue_count_;
    tx_free_ |= 1u << index;
    woke |= tx_waiters_.notify_one();
  }
  if (tx_queue_count_ == 0) mac_->write(&MacRegisters::int_en, mac::kIntRsfl);
  // Received frames into free buffers (bounded by the buffers), then one waiter per ready frame.
  while (pull_rx()) {
  }
  for (std::uint8_t ready = rx_ready_count_; ready > 0 && rx_waiters_.notify_one(); --ready) woke = true;
  return woke;
}

}  // namespace pollstack::firmware
