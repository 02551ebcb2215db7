#pragma once
/// Lan9118: the NIC contract (layers/nic/nic.h) over an SMSC LAN9118 Ethernet controller, the chip
/// of Arm's MPS2 boards (at 0x40200000, interrupt 13, on QEMU's mps2-an385/an386 too), with the
/// frame buffers in the MCU's RAM.
///
/// The chip has FIFOs, not descriptor rings: a frame is sent by writing two command words and then
/// the frame, word by word, into the TX data port (once the TX FIFO reports room), and received by
/// popping a status word (its length) and then the frame, word by word, from the RX data port. So
/// the driver keeps its own buffers: the stack writes a frame in place into a TX buffer and
/// submits it, the driver copies it into the chip now or, when the TX FIFO is full, from service()
/// once the chip reports room (TDFA); received frames are copied out of the chip into free RX
/// buffers, which the stack holds until it drops them. Waiting operations queue first come, first
/// served in WaiterLists, as everywhere in the stack.
///
/// Threading: everything runs in the main loop, except on_interrupt(), which the device's
/// interrupt handler calls. The handler only masks the device's interrupt line and sets a flag
/// (the chip's interrupt is a level: it stays asserted until service() acknowledges the causes);
/// service() then does the work and unmasks the line. The stack never runs in an interrupt.
///
/// What it does not do: half duplex (MAC_CR is set full duplex), link-state tracking (the
/// contract's kLinkDown is never reported: QEMU's PHY is always up, and a real board would watch
/// the PHY interrupt), multicast filtering (only our unicast address and broadcast are received),
/// checksum offload (the chip has none).

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <utility>

#include "layers/nic/nic.h"
#include "layers/nic/nic_operation.h"
#include "statemachines/context.h"
#include "statemachines/contract.h"
#include "statemachines/poll.h"
#include "statemachines/waiter_list.h"

namespace pollstack::firmware {

/// The chip's system control and status registers, at their offsets (SMSC LAN9118 datasheet,
/// "System Control and Status Registers"; checked below).
struct Lan9118Registers {
  std::uint32_t rx_data[8];      // 0x00 RX_DATA_FIFO port (eight aliases)
  std::uint32_t tx_data[8];      // 0x20 TX_DATA_FIFO port
  std::uint32_t rx_status;       // 0x40 RX_STATUS_FIFO: a read pops the next frame's status
  std::uint32_t rx_status_peek;  // 0x44
  std::uint32_t tx_status;       // 0x48 TX_STATUS_FIFO
  std::uint32_t tx_status_peek;  // 0x4C
  std::uint32_t id_rev;          // 0x50
  std::uint32_t irq_cfg;         // 0x54
  std::uint32_t int_sts;         // 0x58 write 1 to clear
  std::uint32_t int_en;          // 0x5C
  std::uint32_t reserved_60;
  std::uint32_t byte_test;       // 0x64 reads 0x87654321
  std::uint32_t fifo_int;        // 0x68
  std::uint32_t rx_cfg;          // 0x6C
  std::uint32_t tx_cfg;          // 0x70
  std::uint32_t hw_cfg;          // 0x74
  std::uint32_t rx_dp_ctrl;      // 0x78
  std::uint32_t rx_fifo_inf;     // 0x7C
  std::uint32_t tx_fifo_inf;     // 0x80
  std::uint32_t pmt_ctrl;        // 0x84
  std::uint32_t gpio_cfg;        // 0x88
  std::uint32_t gpt_cfg;         // 0x8C
  std::uint32_t gpt_cnt;         // 0x90
  std::uint32_t reserved_94;
  std::uint32_t word_swap;       // 0x98
  std::uint32_t free_run;        // 0x9C
  std::uint32_t rx_drop;         // 0xA0 frames the chip dropped (its RX FIFO was full)
  std::uint32_t mac_csr_cmd;     // 0xA4 indirect access to the MAC's registers
  std::uint32_t mac_csr_data;    // 0xA8
  std::uint32_t afc_cfg;         // 0xAC
};
static_assert(offsetof(Lan9118Registers, rx_status) == 0x40);
static_assert(offsetof(Lan9118Registers, int_sts) == 0x58);
static_assert(offsetof(Lan9118Registers, byte_test) == 0x64);
static_assert(offsetof(Lan9118Registers, rx_fifo_inf) == 0x7C);
static_assert(offsetof(Lan9118Registers, rx_drop) == 0xA0);
static_assert(offsetof(Lan9118Registers, mac_csr_cmd) == 0xA4);

// Register fields (LAN9118 datasheet names).
namespace lan9118 {
inline std::uint8_t lowest_bit(std::uint32_t mask) noexcept { return static_cast<std::uint8_t>(__builtin_ctz(mask)); }
inline std::uint32_t words(std::uint32_t bytes) noexcept { return (bytes + 3) / 4; }

inline constexpr std::uint32_t kByteTestValue = 0x87654321;
inline constexpr std::uint32_t kHwCfgSoftReset = 1u << 0;       // HW_CFG.SRST, self-clearing
inline constexpr std::uint32_t kHwCfgMustBeOne = 1u << 20;      // HW_CFG.MBO
inline constexpr std::uint32_t kHwCfgTxFifo5K = 5u << 16;       // HW_CFG.TX_FIF_SZ: 5 KiB TX FIFO (the default)
inline constexpr std::uint32_t kPmtReady = 1u << 0;             // PMT_CTRL.READY
inline constexpr std::uint32_t kIrqEnable = 1u << 8;            // IRQ_CFG.IRQ_EN
inline constexpr std::uint32_t kIrqActiveHigh = 1u << 4;        // IRQ_CFG.IRQ_POL
inline constexpr std::uint32_t kIrqPushPull = 1u << 0;          // IRQ_CFG.IRQ_TYPE
inline constexpr std::uint32_t kIntRsfl = 1u << 3;              // RX status FIFO level: a frame waits
inline constexpr std::uint32_t kIntTdfa = 1u << 9;              // TX data FIFO available: room again
inline constexpr std::uint32_t kTxCfgOn = 1u << 1;              // TX_CFG.TX_ON
inline constexpr std::uint32_t kTxCfgStatusOverrun = 1u << 2;   // TX_CFG.TXSAO: we never read TX status words
inline constexpr std::uint32_t kCmdAFirst = 1u << 13;           // TX command A: first segment
inline constexpr std::uint32_t kCmdALast = 1u << 12;            // TX command A: last segment
inline constexpr std::uint32_t kRxStatusError = 1u << 15;       // RX status: error summary
inline constexpr std::uint32_t kLengthMask = 0x3fff;            // RX status length, bits 29:16 (FCS included)
inline constexpr std::uint32_t kFcsBytes = 4;
inline constexpr std::uint32_t kMacCsrBusy = 1u << 31;
inline constexpr std::uint32_t kMacCsrRead = 1u << 30;
inline constexpr std::uint8_t kMacCr = 1, kMacAddrH = 2, kMacAddrL = 3, kMacMiiAcc = 6, kMacMiiData = 7;
inline constexpr std::uint32_t kMacCrRxEnable = 1u << 2, kMacCrTxEnable = 1u << 3, kMacCrFullDuplex = 1u << 20;
inline constexpr std::uint32_t kMiiBusy = 1u << 0, kMiiWrite = 1u << 1, kPhyAddress = 1u << 11;  // the internal PHY is 1
inline constexpr std::uint8_t kPhyBasicControl = 0;
inline constexpr std::uint16_t kPhyAutoNegotiate = 1u << 12, kPhyRestartAutoNegotiation = 1u << 9;
inline constexpr std::uint32_t kPollLimit = 100'000;  // register polls before a wait is called failed
}  // namespace lan9118

struct Lan9118Counters {
  std::uint32_t frames_sent = 0;
  std::uint32_t frames_received = 0;
  std::uint32_t tx_waited_for_fifo = 0;  // frames queued because the TX FIFO had no room
  std::uint32_t rx_errors = 0;           // status word with the error summary bit, or no data: dropped
  std::uint32_t rx_oversize = 0;         // longer than a buffer: read out of the chip and dropped
  std::uint32_t interrupts = 0;
};

/// The driver over any register block laid out as Lan9118Registers: the chip's own (volatile, at
/// its address: `Lan9118` below) or a test's model of it (tests/tools/firmware/).
template <class Registers>
class BasicLan9118 {
 public:
  /// Bytes of one frame buffer: a full Ethernet frame and the chip's 4-byte FCS (1518 bytes, read
  /// in whole words: 1520) fit, and a multiple of 4 keeps buffers word-aligned.
  static constexpr std::size_t kBufferBytes = 1536;
  /// Transmit buffers: operations writing frames at once. A fifth reservation waits.
  static constexpr std::size_t kTxBuffers = 4;
  /// Receive buffers, all of which the stack may hold at once (queued datagrams keep theirs).
  /// While the stack holds them all, frames wait in the chip's RX FIFO (and it drops, and counts
  /// in RX_DROP, what overflows it).
  static constexpr std::size_t kRxBuffers = 8;
  /// The smallest frame on the wire without its FCS: shorter ones are padded with zeros.
  static constexpr std::uint32_t kMinimumFrame = 60;
  /// Bad frames (errors, empty, too long) read out of the chip and dropped per receive pass.
  static constexpr std::uint32_t kDropsPerPull = 4;

  class TxBuffer {
   public:
    TxBuffer(TxBuffer&& other) noexcept : nic_(std::exchange(other.nic_, nullptr)), index_(other.index_) {}
    TxBuffer& operator=(TxBuffer&&) = delete;
    ~TxBuffer() {
      if (nic_ != nullptr) nic_->release_tx(index_);  // dropped unsubmitted: the buffer goes back
    }
    std::span<std::byte> bytes() noexcept { return nic_->buffers_[index_]; }
    /// Hands the frame to the chip (now, or from service() once its FIFO has room). Always true:
    /// this driver does not report link down.
    bool submit(std::uint32_t length) noexcept {
      BasicLan9118* nic = std::exchange(nic_, nullptr);
      expect(length >= 1 && length <= kBufferBytes, "Lan9118::TxBuffer::submit(): bad frame length");
      nic->queue_tx(index_, static_cast<std::uint16_t>(length));
      return true;
    }

   private:
    friend class BasicLan9118;
    TxBuffer(BasicLan9118& nic, std::uint8_t index) noexcept : nic_(&nic), index_(index) {}
    BasicLan9118* nic_;
    std::uint8_t index_;
  };

  class RxBuffer {
   public:
    RxBuffer(RxBuffer&& other) noexcept
        : nic_(std::exchange(other.nic_, nullptr)), index_(other.index_), length_(other.length_) {}
    RxBuffer& operator=(RxBuffer&&) = delete;
    ~RxBuffer() {
      if (nic_ != nullptr) nic_->rx_free_ |= 1u << index_;  // free to receive into again
    }
    std::span<const std::byte> bytes() const noexcept {
      return std::span<const std::byte>(nic_->buffers_[kTxBuffers + index_]).first(length_);
    }

   private:
    friend class BasicLan9118;
    RxBuffer(BasicLan9118& nic, std::uint8_t index, std::uint16_t length) noexcept
        : nic_(&nic), index_(index), length_(length) {}
    BasicLan9118* nic_;
    std::uint8_t index_;
    std::uint16_t length_;
  };

 private:
  Poll<net::NicResult<TxBuffer>> poll_reserve(Waiter& waiter, Context& cx) noexcept;
  Poll<net::NicResult<RxBuffer>> poll_receive(Waiter& waiter, Context& cx) noexcept;

 public:
  /// reserve_tx() and receive(): Pending while there is no buffer / no frame, queued first come,
  /// first served; a dropped operation leaves the queue.
  using TxReservation = net::NicOperation<BasicLan9118, TxBuffer, &BasicLan9118::poll_reserve>;
  using Receive = net::NicOperation<BasicLan9118, RxBuffer, &BasicLan9118::poll_receive>;

  /// What on_interrupt() and service() call to mask and unmask the device's line in the interrupt
  /// controller (the NVIC); both null for a polled driver. `unmask` must clear the line's pending
  /// state first: the chip kept the (level) line asserted while it was masked, and the cause is
  /// handled by then.
  struct InterruptLine {
    void (*mask)() = nullptr;
    void (*unmask)() = nullptr;
  };

  BasicLan9118(Registers& regs, InterruptLine line) noexcept : regs_(&regs), line_(line) {}
  BasicLan9118(const BasicLan9118&) = delete;
  BasicLan9118& operator=(const BasicLan9118&) = delete;

  enum class StartError : std::uint8_t {
    kNoChip,        // BYTE_TEST did not read 0x87654321: nothing (or not this chip) at the address
    kResetTimeout,  // the soft reset or the PHY did not finish
  };
  /// Resets the chip and brings it up: our MAC address in its filter, transmitter and receiver on,
  /// the PHY auto-negotiating, the receive interrupt enabled. Call once, before anything else.
  std::optional<StartError> start(const std::array<std::uint8_t, 6>& mac) noexcept;

  TxReservation reserve_tx() noexcept { return TxReservation(*this); }
  Receive receive() noexcept { return Receive(*this); }
  std::optional<net::NicResult<RxBuffer>> try_receive() noexcept {
    if (rx_ready_count_ == 0 && !pull_rx()) return std::nullopt;
    const std::uint8_t index = rx_ready_[rx_ready_head_];
    rx_ready_head_ = static_cast<std::uint8_t>((rx_ready_head_ + 1) % kRxBuffers);
    --rx_ready_count_;
    return net::NicResult<RxBuffer>(RxBuffer(*this, index, rx_length_[index]));
  }

  /// Interrupt handler: masks the line (it stays asserted until service() clears the chip's
  /// causes) and notes the interrupt for the main loop.
  void on_interrupt() noexcept {
    if (line_.mask != nullptr) line_.mask();
    irq_pending_.store(true, std::memory_order_relaxed);
  }

  /// Main loop: acknowledges the chip, moves queued frames into its TX FIFO as it has room and
  /// received frames out of it into free buffers, wakes the operations waiting for them, and
  /// unmasks the interrupt line. Bounded: at most kTxBuffers frames written, kRxBuffers received
  /// and kDropsPerPull bad ones dropped per receive pass. Returns true if
  /// it woke anyone.
  bool service() noexcept;

  /// True if service() has something to do: call it instead of sleeping. Read with interrupts
  /// masked, just before sleeping (see main.cc).
  bool has_work() noexcept {
    if (irq_pending_.load(std::memory_order_relaxed)) return true;
    if (rx_ready_count_ > 0 && !rx_waiters_.is_empty()) return true;
    return rx_free_ != 0 && rx_frames_waiting() > 0;
  }

  const Lan9118Counters& counters() const noexcept { return counters_; }
  /// Frames the chip dropped for want of room in its RX FIFO (its RX_DROP counter, accumulated).
  std::uint32_t chip_rx_dropped() noexcept {
    chip_rx_dropped_ += regs_->rx_drop;  // clears on read
    return chip_rx_dropped_;
  }
  /// Buffers free right now (for a leak check: all of them, once the stack is idle).
  std::size_t tx_buffers_free() const noexcept { return static_cast<std::size_t>(__builtin_popcount(tx_free_)); }
  std::size_t rx_buffers_free() const noexcept { return static_cast<std::size_t>(__builtin_popcount(rx_free_)); }

 private:
  // TDFA once the largest frame and its two command words fit (FIFO_INT counts 64-byte units).
  static constexpr std::uint32_t kFifoIntTdfaLevel = ((8 + kBufferBytes + 63) / 64) << 24;
  static constexpr std::uint32_t kAllRx = (1u << kRxBuffers) - 1;
  static constexpr std::uint32_t kAllTx = (1u << kTxBuffers) - 1;

  std::uint32_t rx_frames_waiting() noexcept { return (regs_->rx_fifo_inf >> 16) & 0xff; }
  bool release_tx(std::uint8_t index) noexcept {  // true if it woke a waiting reservation
    tx_free_ |= 1u << index;
    return tx_waiters_.notify_one();
  }
  void queue_tx(std::uint8_t index, std::uint16_t length) noexcept;
  bool write_frame(std::uint8_t index) noexcept;
  bool pull_rx() noexcept;
  bool mac_csr_done() noexcept;
  bool mac_write(std::uint8_t reg, std::uint32_t value) noexcept;
  bool phy_write(std::uint8_t reg, std::uint16_t value) noexcept;

  Registers* regs_;
  InterruptLine line_;
  alignas(4) std::array<std::array<std::byte, kBufferBytes>, kTxBuffers + kRxBuffers> buffers_;  // TX, then RX
  std::uint32_t tx_free_ = kAllTx;  // bit i: TX buffer i is free
  std::uint32_t rx_free_ = kAllRx;  // bit i: RX buffer i is free (neither filled nor held by the stack)
  // Submitted frames waiting for room in the chip's TX FIFO, in order.
  std::array<std::uint8_t, kTxBuffers> tx_queue_{};
  std::array<std::uint16_t, kTxBuffers> tx_length_{};
  std::uint8_t tx_queue_head_ = 0;
  std::uint8_t tx_queue_count_ = 0;
  // Received frames not taken by the stack yet, in order.
  std::array<std::uint8_t, kRxBuffers> rx_ready_{};
  std::array<std::uint16_t, kRxBuffers> rx_length_{};
  std::uint8_t rx_ready_head_ = 0;
  std::uint8_t rx_ready_count_ = 0;
  std::atomic<bool> irq_pending_{false};
  Lan9118Counters counters_;
  std::uint32_t chip_rx_dropped_ = 0;
  WaiterList tx_waiters_;
  WaiterList rx_waiters_;
};

// ---- the driver's work ------------------------------------------------------------------------

template <class Registers>
bool BasicLan9118<Registers>::mac_csr_done() noexcept {
  for (std::uint32_t i = 0; i < lan9118::kPollLimit; ++i) {
    if ((regs_->mac_csr_cmd & lan9118::kMacCsrBusy) == 0) return true;
  }
  return false;
}

template <class Registers>
bool BasicLan9118<Registers>::mac_write(std::uint8_t reg, std::uint32_t value) noexcept {
  regs_->mac_csr_data = value;
  regs_->mac_csr_cmd = lan9118::kMacCsrBusy | reg;
  return mac_csr_done();
}

template <class Registers>
bool BasicLan9118<Registers>::phy_write(std::uint8_t reg, std::uint16_t value) noexcept {
  if (!mac_write(lan9118::kMacMiiData, value)) return false;
  if (!mac_write(lan9118::kMacMiiAcc, lan9118::kPhyAddress | (std::uint32_t{reg} << 6) | lan9118::kMiiWrite | lan9118::kMiiBusy)) {
    return false;
  }
  for (std::uint32_t i = 0; i < lan9118::kPollLimit; ++i) {  // the MII write itself: MII_ACC.MIIBZY clears
    regs_->mac_csr_cmd = lan9118::kMacCsrBusy | lan9118::kMacCsrRead | lan9118::kMacMiiAcc;
    if (!mac_csr_done()) return false;
    if ((regs_->mac_csr_data & lan9118::kMiiBusy) == 0) return true;
  }
  return false;
}

template <class Registers>
std::optional<typename BasicLan9118<Registers>::StartError> BasicLan9118<Registers>::start(const std::array<std::uint8_t, 6>& mac) noexcept {
  if (regs_->byte_test != lan9118::kByteTestValue) return StartError::kNoChip;
  regs_->hw_cfg = lan9118::kHwCfgSoftReset;
  std::uint32_t waited = 0;
  while ((regs_->hw_cfg & lan9118::kHwCfgSoftReset) != 0 || (regs_->pmt_ctrl & lan9118::kPmtReady) == 0) {
    if (++waited == lan9118::kPollLimit) return StartError::kResetTimeout;
  }
  regs_->hw_cfg = lan9118::kHwCfgMustBeOne | lan9118::kHwCfgTxFifo5K;
  // Our address in the receive filter (ADDRL holds bytes 0-3, ADDRH bytes 4-5, low byte first).
  const bool mac_ok =
      mac_write(lan9118::kMacAddrL, std::uint32_t{mac[0]} | std::uint32_t{mac[1]} << 8 | std::uint32_t{mac[2]} << 16 |
                                     std::uint32_t{mac[3]} << 24) &&
      mac_write(lan9118::kMacAddrH, std::uint32_t{mac[4]} | std::uint32_t{mac[5]} << 8) &&
      phy_write(lan9118::kPhyBasicControl, lan9118::kPhyAutoNegotiate | lan9118::kPhyRestartAutoNegotiation) &&
      // Transmitter and receiver on; promiscuous off: our unicast address and broadcast only. Full
      // duplex, as QEMU's PHY and any switch port negotiate; a board that may meet a half-duplex
      // hub sets FDPX from the PHY's auto-negotiation result (PHY register 31) instead.
      mac_write(lan9118::kMacCr, lan9118::kMacCrTxEnable | lan9118::kMacCrRxEnable | lan9118::kMacCrFullDuplex);
  if (!mac_ok) return StartError::kResetTimeout;
  regs_->tx_cfg = lan9118::kTxCfgOn | lan9118::kTxCfgStatusOverrun;
  regs_->fifo_int = kFifoIntTdfaLevel;  // RX status level 0: RSFL as soon as a frame is in
  regs_->int_sts = 0xffffffff;
  regs_->int_en = lan9118::kIntRsfl;
  regs_->irq_cfg = lan9118::kIrqEnable | lan9118::kIrqActiveHigh | lan9118::kIrqPushPull;
  if (line_.unmask != nullptr) line_.unmask();
  return std::nullopt;
}

template <class Registers>
Poll<net::NicResult<typename BasicLan9118<Registers>::TxBuffer>> BasicLan9118<Registers>::poll_reserve(Waiter& waiter, Context& cx) noexcept {
  if (tx_free_ != 0 && tx_waiters_.may_take(waiter)) {
    const std::uint8_t index = lan9118::lowest_bit(tx_free_);
    tx_free_ &= ~(1u << index);
    tx_waiters_.claimed(waiter);
    return net::NicResult<TxBuffer>(TxBuffer(*this, index));
  }
  tx_waiters_.wait(waiter, cx.waker());  // release_tx() wakes the first in line
  return pending;
}

template <class Registers>
Poll<net::NicResult<typename BasicLan9118<Registers>::RxBuffer>> BasicLan9118<Registers>::poll_receive(Waiter& waiter, Context& cx) noexcept {
  if (std::optional<net::NicResult<RxBuffer>> got = try_receive()) {
    rx_waiters_.claimed(waiter);
    return std::move(*got);
  }
  rx_waiters_.wait(waiter, cx.waker());  // service() wakes one waiter per received frame
  return pending;
}

template <class Registers>
void BasicLan9118<Registers>::queue_tx(std::uint8_t index, std::uint16_t length) noexcept {
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
  regs_->int_en = lan9118::kIntRsfl | lan9118::kIntTdfa;  // interrupt when the TX FIFO has room again
}

template <class Registers>
bool BasicLan9118<Registers>::write_frame(std::uint8_t index) noexcept {
  const std::uint32_t length = tx_length_[index];
  const std::uint32_t free_bytes = regs_->tx_fifo_inf & 0xffff;
  if (free_bytes < 8 + 4 * lan9118::words(length)) return false;
  // Command A (one segment: first and last, its size), command B (the frame's length), the data.
  regs_->tx_data[0] = lan9118::kCmdAFirst | lan9118::kCmdALast | length;
  regs_->tx_data[0] = length;
  const std::byte* frame = buffers_[index].data();
  for (std::uint32_t i = 0; i < lan9118::words(length); ++i) {
    std::uint32_t word;
    std::memcpy(&word, frame + 4 * i, 4);  // within the buffer: kBufferBytes is a multiple of 4
    regs_->tx_data[0] = word;
  }
  ++counters_.frames_sent;
  return true;
}

template <class Registers>
bool BasicLan9118<Registers>::pull_rx() noexcept {
  // Bounded: a stream of bad frames (a noisy link) must not keep the main loop here. What is left
  // waits in the chip for the next call (has_work() stays true).
  for (std::uint32_t dropped = 0; dropped < kDropsPerPull && rx_free_ != 0 && rx_frames_waiting() > 0;) {
    const std::uint32_t status = regs_->rx_status;
    const std::uint32_t length = (status >> 16) & lan9118::kLengthMask;  // with the FCS
    const bool error = (status & lan9118::kRxStatusError) != 0 || length <= lan9118::kFcsBytes;  // or nothing but an FCS
    if (error || 4 * lan9118::words(length) > kBufferBytes) {
      // Not a frame for us: read it out of the FIFO (at most 4 KiB: the length field is 14 bits)
      // and drop it, counted.
      ++(error ? counters_.rx_errors : counters_.rx_oversize);
      for (std::uint32_t i = 0; i < lan9118::words(length); ++i) (void)static_cast<std::uint32_t>(regs_->rx_data[0]);  // a read pops a word
      ++dropped;
      continue;
    }
    const std::uint8_t index = lan9118::lowest_bit(rx_free_);
    std::byte* frame = buffers_[kTxBuffers + index].data();
    for (std::uint32_t i = 0; i < lan9118::words(length); ++i) {
      const std::uint32_t word = regs_->rx_data[0];
      std::memcpy(frame + 4 * i, &word, 4);
    }
    rx_free_ &= ~(1u << index);
    rx_length_[index] = static_cast<std::uint16_t>(length - lan9118::kFcsBytes);
    rx_ready_[(rx_ready_head_ + rx_ready_count_) % kRxBuffers] = index;
    ++rx_ready_count_;
    ++counters_.frames_received;
    return true;
  }
  return false;
}

template <class Registers>
bool BasicLan9118<Registers>::service() noexcept {
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
  if (tx_queue_count_ == 0) regs_->int_en = lan9118::kIntRsfl;
  // Received frames into free buffers (bounded by the buffers), then one waiter per ready frame.
  while (pull_rx()) {
  }
  for (std::uint8_t ready = rx_ready_count_; ready > 0 && rx_waiters_.notify_one(); --ready) woke = true;
  // The line's pending state is cleared before it is unmasked (InterruptLine): a cause still set
  // in the chip asserts it again at once, so nothing is lost, and nothing is handled twice.
  if (line_.unmask != nullptr) line_.unmask();
  return woke;
}


/// The driver over the chip itself: its registers, volatile, at the board's address. Compiled once
/// (lan9118.cc).
using Lan9118 = BasicLan9118<volatile Lan9118Registers>;
extern template class BasicLan9118<volatile Lan9118Registers>;
static_assert(pollstack::net::Nic<Lan9118>);

}  // namespace pollstack::firmware
