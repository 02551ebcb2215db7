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
/// What it does not do: half duplex (MAC_CR is set full duplex), link-state tracking (the contract's kLinkDown is never reported: QEMU's
/// PHY is always up, and a real board would watch the PHY interrupt), multicast filtering (only
/// our unicast address and broadcast are received), checksum offload (the chip has none).

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
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

struct Lan9118Counters {
  std::uint32_t frames_sent = 0;
  std::uint32_t frames_received = 0;
  std::uint32_t tx_waited_for_fifo = 0;  // frames queued because the TX FIFO had no room
  std::uint32_t rx_errors = 0;           // status word with the error summary bit, or a runt: dropped
  std::uint32_t rx_oversize = 0;         // longer than a buffer: read out of the chip and dropped
  std::uint32_t interrupts = 0;
};

class Lan9118 {
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
  /// Bad frames (errors, runts, too long) read out of the chip and dropped per receive pass.
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
      Lan9118* nic = std::exchange(nic_, nullptr);
      expect(length >= 1 && length <= kBufferBytes, "Lan9118::TxBuffer::submit(): bad frame length");
      nic->queue_tx(index_, static_cast<std::uint16_t>(length));
      return true;
    }

   private:
    friend class Lan9118;
    TxBuffer(Lan9118& nic, std::uint8_t index) noexcept : nic_(&nic), index_(index) {}
    Lan9118* nic_;
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
    friend class Lan9118;
    RxBuffer(Lan9118& nic, std::uint8_t index, std::uint16_t length) noexcept
        : nic_(&nic), index_(index), length_(length) {}
    Lan9118* nic_;
    std::uint8_t index_;
    std::uint16_t length_;
  };

 private:
  Poll<net::NicResult<TxBuffer>> poll_reserve(Waiter& waiter, Context& cx) noexcept;
  Poll<net::NicResult<RxBuffer>> poll_receive(Waiter& waiter, Context& cx) noexcept;

 public:
  /// reserve_tx() and receive(): Pending while there is no buffer / no frame, queued first come,
  /// first served; a dropped operation leaves the queue.
  using TxReservation = net::NicOperation<Lan9118, TxBuffer, &Lan9118::poll_reserve>;
  using Receive = net::NicOperation<Lan9118, RxBuffer, &Lan9118::poll_receive>;

  /// What on_interrupt() and service() call to mask and unmask the device's line in the interrupt
  /// controller (the NVIC); both null for a polled driver. `unmask` must clear the line's pending
  /// state first: the chip kept the (level) line asserted while it was masked, and the cause is
  /// handled by then.
  struct InterruptLine {
    void (*mask)() = nullptr;
    void (*unmask)() = nullptr;
  };

  Lan9118(volatile Lan9118Registers& regs, InterruptLine line) noexcept : regs_(&regs), line_(line) {}
  Lan9118(const Lan9118&) = delete;
  Lan9118& operator=(const Lan9118&) = delete;

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

  volatile Lan9118Registers* regs_;
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

static_assert(pollstack::net::Nic<Lan9118>);

}  // namespace pollstack::firmware
