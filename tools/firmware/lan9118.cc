#include "tools/firmware/lan9118.h"

#include <cstring>

namespace pollstack::firmware {

namespace {

std::uint8_t lowest_bit(std::uint32_t mask) noexcept { return static_cast<std::uint8_t>(__builtin_ctz(mask)); }
std::uint32_t words(std::uint32_t bytes) noexcept { return (bytes + 3) / 4; }

// Register fields (LAN9118 datasheet names).
namespace bits {
constexpr std::uint32_t kByteTestValue = 0x87654321;
constexpr std::uint32_t kHwCfgSoftReset = 1u << 0;       // HW_CFG.SRST, self-clearing
constexpr std::uint32_t kHwCfgMustBeOne = 1u << 20;      // HW_CFG.MBO
constexpr std::uint32_t kHwCfgTxFifo5K = 5u << 16;       // HW_CFG.TX_FIF_SZ: 5 KiB TX FIFO (the default)
constexpr std::uint32_t kPmtReady = 1u << 0;             // PMT_CTRL.READY
constexpr std::uint32_t kIrqEnable = 1u << 8;            // IRQ_CFG.IRQ_EN
constexpr std::uint32_t kIrqActiveHigh = 1u << 4;        // IRQ_CFG.IRQ_POL
constexpr std::uint32_t kIrqPushPull = 1u << 0;          // IRQ_CFG.IRQ_TYPE
constexpr std::uint32_t kIntRsfl = 1u << 3;              // RX status FIFO level: a frame waits
constexpr std::uint32_t kIntTdfa = 1u << 9;              // TX data FIFO available: room again
// TDFA once the largest frame and its two command words fit (FIFO_INT counts 64-byte units).
constexpr std::uint32_t kFifoIntTdfaLevel = ((8 + Lan9118::kBufferBytes + 63) / 64) << 24;
constexpr std::uint32_t kTxCfgOn = 1u << 1;              // TX_CFG.TX_ON
constexpr std::uint32_t kTxCfgStatusOverrun = 1u << 2;   // TX_CFG.TXSAO: we never read TX status words
constexpr std::uint32_t kCmdAFirst = 1u << 13;           // TX command A: first segment
constexpr std::uint32_t kCmdALast = 1u << 12;            // TX command A: last segment
constexpr std::uint32_t kRxStatusError = 1u << 15;       // RX status: error summary
constexpr std::uint32_t kLengthMask = 0x3fff;            // RX status length, bits 29:16 (FCS included)
constexpr std::uint32_t kFcsBytes = 4;
constexpr std::uint32_t kMacCsrBusy = 1u << 31;
constexpr std::uint32_t kMacCsrRead = 1u << 30;
constexpr std::uint8_t kMacCr = 1, kMacAddrH = 2, kMacAddrL = 3, kMacMiiAcc = 6, kMacMiiData = 7;
constexpr std::uint32_t kMacCrRxEnable = 1u << 2, kMacCrTxEnable = 1u << 3, kMacCrFullDuplex = 1u << 20;
constexpr std::uint32_t kMiiBusy = 1u << 0, kMiiWrite = 1u << 1, kPhyAddress = 1u << 11;  // the internal PHY is 1
constexpr std::uint8_t kPhyBasicControl = 0;
constexpr std::uint16_t kPhyAutoNegotiate = 1u << 12, kPhyRestartAutoNegotiation = 1u << 9;
constexpr std::uint32_t kPollLimit = 100'000;  // register polls before a wait is called failed
}  // namespace bits

}  // namespace

bool Lan9118::mac_csr_done() noexcept {
  for (std::uint32_t i = 0; i < bits::kPollLimit; ++i) {
    if ((regs_->mac_csr_cmd & bits::kMacCsrBusy) == 0) return true;
  }
  return false;
}

bool Lan9118::mac_write(std::uint8_t reg, std::uint32_t value) noexcept {
  regs_->mac_csr_data = value;
  regs_->mac_csr_cmd = bits::kMacCsrBusy | reg;
  return mac_csr_done();
}

bool Lan9118::phy_write(std::uint8_t reg, std::uint16_t value) noexcept {
  if (!mac_write(bits::kMacMiiData, value)) return false;
  if (!mac_write(bits::kMacMiiAcc, bits::kPhyAddress | (std::uint32_t{reg} << 6) | bits::kMiiWrite | bits::kMiiBusy)) {
    return false;
  }
  for (std::uint32_t i = 0; i < bits::kPollLimit; ++i) {  // the MII write itself: MII_ACC.MIIBZY clears
    regs_->mac_csr_cmd = bits::kMacCsrBusy | bits::kMacCsrRead | bits::kMacMiiAcc;
    if (!mac_csr_done()) return false;
    if ((regs_->mac_csr_data & bits::kMiiBusy) == 0) return true;
  }
  return false;
}

std::optional<Lan9118::StartError> Lan9118::start(const std::array<std::uint8_t, 6>& mac) noexcept {
  if (regs_->byte_test != bits::kByteTestValue) return StartError::kNoChip;
  regs_->hw_cfg = bits::kHwCfgSoftReset;
  std::uint32_t waited = 0;
  while ((regs_->hw_cfg & bits::kHwCfgSoftReset) != 0 || (regs_->pmt_ctrl & bits::kPmtReady) == 0) {
    if (++waited == bits::kPollLimit) return StartError::kResetTimeout;
  }
  regs_->hw_cfg = bits::kHwCfgMustBeOne | bits::kHwCfgTxFifo5K;
  // Our address in the receive filter (ADDRL holds bytes 0-3, ADDRH bytes 4-5, low byte first).
  const bool mac_ok =
      mac_write(bits::kMacAddrL, std::uint32_t{mac[0]} | std::uint32_t{mac[1]} << 8 | std::uint32_t{mac[2]} << 16 |
                                     std::uint32_t{mac[3]} << 24) &&
      mac_write(bits::kMacAddrH, std::uint32_t{mac[4]} | std::uint32_t{mac[5]} << 8) &&
      phy_write(bits::kPhyBasicControl, bits::kPhyAutoNegotiate | bits::kPhyRestartAutoNegotiation) &&
      // Transmitter and receiver on; promiscuous off: our unicast address and broadcast only. Full
      // duplex, as QEMU's PHY and any switch port negotiate; a board that may meet a half-duplex
      // hub sets FDPX from the PHY's auto-negotiation result (PHY register 31) instead.
      mac_write(bits::kMacCr, bits::kMacCrTxEnable | bits::kMacCrRxEnable | bits::kMacCrFullDuplex);
  if (!mac_ok) return StartError::kResetTimeout;
  regs_->tx_cfg = bits::kTxCfgOn | bits::kTxCfgStatusOverrun;
  regs_->fifo_int = bits::kFifoIntTdfaLevel;  // RX status level 0: RSFL as soon as a frame is in
  regs_->int_sts = 0xffffffff;
  regs_->int_en = bits::kIntRsfl;
  regs_->irq_cfg = bits::kIrqEnable | bits::kIrqActiveHigh | bits::kIrqPushPull;
  if (line_.unmask != nullptr) line_.unmask();
  return std::nullopt;
}

Poll<net::NicResult<Lan9118::TxBuffer>> Lan9118::poll_reserve(Waiter& waiter, Context& cx) noexcept {
  if (tx_free_ != 0 && tx_waiters_.may_take(waiter)) {
    const std::uint8_t index = lowest_bit(tx_free_);
    tx_free_ &= ~(1u << index);
    tx_waiters_.claimed(waiter);
    return net::NicResult<TxBuffer>(TxBuffer(*this, index));
  }
  tx_waiters_.wait(waiter, cx.waker());  // release_tx() wakes the first in line
  return pending;
}

Poll<net::NicResult<Lan9118::RxBuffer>> Lan9118::poll_receive(Waiter& waiter, Context& cx) noexcept {
  if (std::optional<net::NicResult<RxBuffer>> got = try_receive()) {
    rx_waiters_.claimed(waiter);
    return std::move(*got);
  }
  rx_waiters_.wait(waiter, cx.waker());  // service() wakes one waiter per received frame
  return pending;
}

void Lan9118::queue_tx(std::uint8_t index, std::uint16_t length) noexcept {
  if (length < kMinimumFrame) {  // pad to Ethernet's minimum here: QEMU's model of the chip does not
    std::memset(buffers_[index].data() + length, 0, kMinimumFrame - length);
    length = kMinimumFrame;
  }
  tx_length_[index] = length;
  // In order: straight into the chip only if nothing submitted earlier still waits for room.
  if (tx_queue_count_ == 0 && write_frame(index)) {
    (void)release_tx(index);
    return;
  }
  ++counters_.tx_waited_for_fifo;
  tx_queue_[(tx_queue_head_ + tx_queue_count_) % kTxBuffers] = index;  // never full: one entry per buffer
  ++tx_queue_count_;
  regs_->int_en = bits::kIntRsfl | bits::kIntTdfa;  // interrupt when the TX FIFO has room again
}

bool Lan9118::write_frame(std::uint8_t index) noexcept {
  const std::uint32_t length = tx_length_[index];
  const std::uint32_t free_bytes = regs_->tx_fifo_inf & 0xffff;
  if (free_bytes < 8 + 4 * words(length)) return false;
  // Command A (one segment: first and last, its size), command B (the frame's length), the data.
  regs_->tx_data[0] = bits::kCmdAFirst | bits::kCmdALast | length;
  regs_->tx_data[0] = length;
  const std::byte* frame = buffers_[index].data();
  for (std::uint32_t i = 0; i < words(length); ++i) {
    std::uint32_t word;
    std::memcpy(&word, frame + 4 * i, 4);  // within the buffer: kBufferBytes is a multiple of 4
    regs_->tx_data[0] = word;
  }
  ++counters_.frames_sent;
  return true;
}

bool Lan9118::pull_rx() noexcept {
  // Bounded: a stream of bad frames (a noisy link) must not keep the main loop here. What is left
  // waits in the chip for the next call (has_work() stays true).
  for (std::uint32_t dropped = 0; dropped < kDropsPerPull && rx_free_ != 0 && rx_frames_waiting() > 0;) {
    const std::uint32_t status = regs_->rx_status;
    const std::uint32_t length = (status >> 16) & bits::kLengthMask;  // with the FCS
    const bool error = (status & bits::kRxStatusError) != 0 || length <= bits::kFcsBytes;  // a runt is an error too
    if (error || 4 * words(length) > kBufferBytes) {
      // Not a frame for us: read it out of the FIFO (at most 4 KiB: the length field is 14 bits)
      // and drop it, counted.
      ++(error ? counters_.rx_errors : counters_.rx_oversize);
      for (std::uint32_t i = 0; i < words(length); ++i) (void)regs_->rx_data[0];
      ++dropped;
      continue;
    }
    const std::uint8_t index = lowest_bit(rx_free_);
    std::byte* frame = buffers_[kTxBuffers + index].data();
    for (std::uint32_t i = 0; i < words(length); ++i) {
      const std::uint32_t word = regs_->rx_data[0];
      std::memcpy(frame + 4 * i, &word, 4);
    }
    rx_free_ &= ~(1u << index);
    rx_length_[index] = static_cast<std::uint16_t>(length - bits::kFcsBytes);
    rx_ready_[(rx_ready_head_ + rx_ready_count_) % kRxBuffers] = index;
    ++rx_ready_count_;
    ++counters_.frames_received;
    return true;
  }
  return false;
}

bool Lan9118::service() noexcept {
  if (irq_pending_.exchange(false, std::memory_order_relaxed)) ++counters_.interrupts;
  regs_->int_sts = regs_->int_sts;  // acknowledge what we handle now (write 1 to clear)
  bool woke = false;
  // Frames waiting for TX FIFO room, in order; each one sent frees its buffer for the next waiter.
  while (tx_queue_count_ > 0 && write_frame(tx_queue_[tx_queue_head_])) {
    const std::uint8_t index = tx_queue_[tx_queue_head_];
    tx_queue_head_ = static_cast<std::uint8_t>((tx_queue_head_ + 1) % kTxBuffers);
    --tx_queue_count_;
    woke |= release_tx(index);
  }
  if (tx_queue_count_ == 0) regs_->int_en = bits::kIntRsfl;
  // Received frames into free buffers (bounded by the buffers), then one waiter per ready frame.
  while (pull_rx()) {
  }
  for (std::uint8_t ready = rx_ready_count_; ready > 0 && rx_waiters_.notify_one(); --ready) woke = true;
  // The line's pending state is cleared before it is unmasked (InterruptLine): a cause still set
  // in the chip asserts it again at once, so nothing is lost, and nothing is handled twice.
  if (line_.unmask != nullptr) line_.unmask();
  return woke;
}

}  // namespace pollstack::firmware
