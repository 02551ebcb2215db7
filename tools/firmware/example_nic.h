#pragma once
/// ExampleNic: the NIC contract (layers/nic/nic.h) over a small MAC modelled on the SMSC LAN9118
/// (the chip QEMU's mps2 boards put at 0x40200000), with the frame buffers in the MCU's RAM.
///
/// AN EXAMPLE, NOT A DRIVER. The "hardware" is FakeMac below: a `volatile` struct of 32-bit
/// registers (status, TX/RX FIFO data ports, interrupt flags) plus the few lines that give a FIFO
/// port its meaning, because a plain RAM word cannot be a FIFO. ExampleNic reads and writes those
/// registers the way a driver does (command words, then the frame word by word into the TX data
/// port; an RX status word, then the frame word by word out of the RX data port), so the shape of
/// a real driver is all here: what it keeps in RAM, where it waits, who wakes whom. What a real
/// driver adds (reset, PHY and MAC CSR setup, the 4-byte FCS in RX lengths, TX status and error
/// words, the chip's IRQ wiring) is issue 14's LAN9118 driver for QEMU. To port: replace FakeMac
/// by the device's register block at its address (`*reinterpret_cast<volatile Registers*>(...)`)
/// and keep ExampleNic's logic.
///
/// The fake MAC's wire: a sink on TX (frames are counted, and copied into a tap if one is set);
/// on RX, frames are offered one at a time by whoever plays the network (deliver()): nobody in
/// the firmware image, a test on a host. Like QEMU's lan9118 model, it sends a frame the moment
/// its last word is written, unless hold_tx() keeps frames in its TX FIFO (to show backpressure).
///
/// Threading: everything runs in the main loop, except on_interrupt(), which an ISR may call.

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
#include "statemachines/state_cell.h"
#include "statemachines/waiter_list.h"

namespace pollstack::firmware {

// ---- the fake hardware -------------------------------------------------------------------------

/// The MAC's registers (LAN9118 names; its offsets in comments: a real port lays the struct out
/// with reserved words to match them).
struct MacRegisters {
  std::uint32_t rx_data;      // 0x00 RX_DATA_FIFO: a read pops the next word of the head RX frame
  std::uint32_t tx_data;      // 0x20 TX_DATA_FIFO: a write pushes command A, command B, then data words
  std::uint32_t rx_status;    // 0x40 RX_STATUS_FIFO: a read pops the head frame's status (length in 29:16)
  std::uint32_t int_sts;      // 0x58 INT_STS: pending interrupt causes; write 1 to clear
  std::uint32_t int_en;       // 0x5C INT_EN: which causes raise the IRQ line
  std::uint32_t rx_fifo_inf;  // 0x7C RX_FIFO_INF: RX status words waiting, in 23:16
  std::uint32_t tx_fifo_inf;  // 0x80 TX_FIFO_INF: free bytes of the TX data FIFO, in 15:0
};

namespace mac {
inline constexpr std::uint32_t kIntRsfl = 1u << 3;   // INT_STS.RSFL: a frame waits in the RX FIFO
inline constexpr std::uint32_t kIntTdfa = 1u << 9;   // INT_STS.TDFA: the TX data FIFO has room again
inline constexpr std::uint32_t kCmdAFirst = 1u << 13;  // TX command A: first segment
inline constexpr std::uint32_t kCmdALast = 1u << 12;   // TX command A: last segment
inline constexpr std::uint32_t kTxFifoBytes = 4608;   // the LAN9118's default TX data FIFO (TX_FIF_SZ=5)
inline constexpr std::uint32_t kLengthMask = 0x3fff;  // frame length fields are 14 bits
}  // namespace mac

/// The MAC itself: the registers and what happens on a bus access to them. ExampleNic touches
/// the registers only through read() and write(), the two lines a port swaps for plain volatile
/// accesses at the device's address.
class FakeMac {
 public:
  using Reg = std::uint32_t MacRegisters::*;

  FakeMac() noexcept { update_levels(); }
  FakeMac(const FakeMac&) = delete;
  FakeMac& operator=(const FakeMac&) = delete;

  std::uint32_t read(Reg reg) noexcept {
    const std::uint32_t value = regs_.*reg;
    if (reg == &MacRegisters::rx_status && rx_frame_.data() != nullptr && !rx_status_read_) {
      rx_status_read_ = true;
      update_levels();
    } else if (reg == &MacRegisters::rx_data && rx_status_read_) {
      std::uint32_t word = 0;
      const std::size_t left = rx_frame_.size() - rx_read_;
      std::memcpy(&word, rx_frame_.data() + rx_read_, left < 4 ? left : 4);
      rx_read_ += left < 4 ? left : 4;
      if (rx_read_ == rx_frame_.size()) {  // the whole frame was read: the FIFO is empty again
        rx_frame_ = {};
        rx_status_read_ = false;
        rx_read_ = 0;
        update_levels();
      }
      return word;
    }
    return value;
  }

  void write(Reg reg, std::uint32_t value) noexcept {
    if (reg == &MacRegisters::int_sts) {
      regs_.int_sts = regs_.int_sts & ~value;  // write 1 to clear
    } else if (reg == &MacRegisters::tx_data) {
      push_tx_word(value);
    } else {
      regs_.*reg = value;
    }
  }

  // ---- the wire's side (a test, or whoever plays the network) ----

  /// A frame arrives from the wire. The fake's RX FIFO holds one frame, read in place from the
  /// caller's memory, which must stay valid until the driver has read it. False: the FIFO is
  /// full and the frame is dropped, as a real MAC drops (and counts) what it has no room for.
  bool deliver(std::span<const std::byte> frame) noexcept {
    if (rx_frame_.data() != nullptr || frame.empty() || frame.size() > mac::kLengthMask) {
      ++rx_dropped_;
      return false;
    }
    rx_frame_ = frame;
    regs_.int_sts = regs_.int_sts | mac::kIntRsfl;
    update_levels();
    return true;
  }
  /// While held, written frames stay in the TX FIFO (its free space shrinks); releasing sends
  /// them all and raises TDFA.
  void hold_tx(bool hold) noexcept {
    tx_held_ = hold;
    if (!hold && tx_fifo_frames_ > 0) {
      send_fifo();
      regs_.int_sts = regs_.int_sts | mac::kIntTdfa;
      update_levels();
    }
  }
  /// Sent frames are also copied here (the last one, cut to the tap's size).
  void set_tx_tap(std::span<std::byte> tap) noexcept { tap_ = tap; }
  std::size_t last_tx_length() const noexcept { return last_tx_length_; }
  std::uint32_t tx_sent() const noexcept { return tx_sent_; }
  std::uint32_t rx_dropped() const noexcept { return rx_dropped_; }
  /// True while the IRQ line is asserted (INT_STS & INT_EN): what would interrupt the CPU.
  bool irq_line() const noexcept { return (regs_.int_sts & regs_.int_en) != 0; }

 private:
  void push_tx_word(std::uint32_t word) noexcept {
    switch (tx_words_seen_++) {
      case 0: return;  // command A: the fake takes whole frames in one segment (first | last)
      case 1:          // command B: the frame's length
        tx_length_ = word & mac::kLengthMask;
        tx_fifo_used_ += 8 + ((tx_length_ + 3) & ~3u);
        return;
      default: break;
    }
    const std::size_t offset = 4 * (tx_words_seen_ - 3);
    if (offset < tap_.size()) {
      std::memcpy(tap_.data() + offset, &word, tap_.size() - offset < 4 ? tap_.size() - offset : 4);
    }
    if (offset + 4 < tx_length_) return;
    // The last word: the frame is complete.
    tx_words_seen_ = 0;
    last_tx_length_ = tx_length_;
    ++tx_fifo_frames_;
    if (!tx_held_) send_fifo();
    update_levels();
  }

  void send_fifo() noexcept {  // every complete frame in the TX FIFO goes on the wire
    tx_fifo_used_ = 0;
    tx_sent_ += tx_fifo_frames_;
    tx_fifo_frames_ = 0;
  }

  void update_levels() noexcept {
    regs_.tx_fifo_inf = mac::kTxFifoBytes - tx_fifo_used_;
    const bool status_waiting = rx_frame_.data() != nullptr && !rx_status_read_;
    regs_.rx_fifo_inf = status_waiting ? 1u << 16 : 0u;
    regs_.rx_status = status_waiting ? static_cast<std::uint32_t>(rx_frame_.size()) << 16 : 0u;
  }

  volatile MacRegisters regs_{};
  // What the registers stand for.
  std::span<const std::byte> rx_frame_;  // the frame in the RX FIFO (empty: none)
  std::size_t rx_read_ = 0;              // its bytes read out through rx_data
  bool rx_status_read_ = false;          // its status word was popped: its data is being read
  std::uint32_t tx_words_seen_ = 0;      // of the frame being written
  std::uint32_t tx_length_ = 0;
  std::uint32_t tx_fifo_used_ = 0;  // bytes of complete frames not sent yet (plus the one being written)
  std::uint32_t tx_fifo_frames_ = 0;
  bool tx_held_ = false;
  std::uint32_t tx_sent_ = 0;
  std::uint32_t rx_dropped_ = 0;
  std::span<std::byte> tap_;
  std::size_t last_tx_length_ = 0;
};

// ---- the driver --------------------------------------------------------------------------------

class ExampleNic {
 public:
  /// Bytes of one frame buffer: a full Ethernet frame (1514 bytes) fits (Interface checks it), and
  /// a multiple of 4, so frames move through the FIFO ports in whole words and buffers stay aligned.
  static constexpr std::size_t kBufferBytes = 1536;
  /// Transmit buffers: operations writing frames at once (echo answers, ARP replies, application
  /// sends). 4 x 1536 = 6 KiB of RAM. A fifth reservation waits, first come first served.
  static constexpr std::size_t kTxBuffers = 4;
  /// Receive buffers, all of which the stack may hold at once (queued datagrams keep theirs; the
  /// Interface lets UDP queues take at most half). 8 x 1536 = 12 KiB of RAM. While the stack holds
  /// them all, frames wait in the MAC's own FIFO (and the MAC drops what overflows it).
  static constexpr std::size_t kRxBuffers = 8;

  class TxBuffer {
   public:
    TxBuffer(TxBuffer&& other) noexcept : nic_(std::exchange(other.nic_, nullptr)), index_(other.index_) {}
    TxBuffer& operator=(TxBuffer&&) = delete;
    ~TxBuffer() {
      if (nic_ != nullptr) nic_->release_tx(index_);  // dropped unsubmitted: the buffer goes back
    }
    std::span<std::byte> bytes() noexcept { return nic_->buffers_[index_]; }
    /// Hands the frame to the MAC (now, or from service() once its FIFO has room). Always true:
    /// this example's link never goes down.
    bool submit(std::uint32_t length) noexcept {
      ExampleNic* nic = std::exchange(nic_, nullptr);
      expect(length >= 1 && length <= kBufferBytes, "TxBuffer::submit(): bad frame length");
      nic->queue_tx(index_, static_cast<std::uint16_t>(length));
      return true;
    }

   private:
    friend class ExampleNic;
    TxBuffer(ExampleNic& nic, std::uint8_t index) noexcept : nic_(&nic), index_(index) {}
    ExampleNic* nic_;
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
    friend class ExampleNic;
    RxBuffer(ExampleNic& nic, std::uint8_t index, std::uint16_t length) noexcept
        : nic_(&nic), index_(index), length_(length) {}
    ExampleNic* nic_;
    std::uint8_t index_;
    std::uint16_t length_;
  };

 private:
  Poll<net::NicResult<TxBuffer>> poll_reserve(Waiter& waiter, Context& cx) noexcept;
  Poll<net::NicResult<RxBuffer>> poll_receive(Waiter& waiter, Context& cx) noexcept;

 public:
  /// reserve_tx() and receive(): Pending while there is no buffer / no frame, queued first come,
  /// first served in the NIC's WaiterList; a dropped operation leaves the queue.
  using TxReservation = net::NicOperation<ExampleNic, TxBuffer, &ExampleNic::poll_reserve>;
  using Receive = net::NicOperation<ExampleNic, RxBuffer, &ExampleNic::poll_receive>;

  explicit ExampleNic(FakeMac& mac) noexcept : mac_(&mac) { mac_->write(&MacRegisters::int_en, mac::kIntRsfl); }
  ExampleNic(const ExampleNic&) = delete;
  ExampleNic& operator=(const ExampleNic&) = delete;

  TxReservation reserve_tx() noexcept { return TxReservation(*this); }
  Receive receive() noexcept { return Receive(*this); }
  std::optional<net::NicResult<RxBuffer>> try_receive() noexcept {
    if (rx_ready_count_ == 0 && !pull_rx()) return std::nullopt;
    const std::uint8_t index = rx_ready_[rx_ready_head_];
    rx_ready_head_ = static_cast<std::uint8_t>((rx_ready_head_ + 1) % kRxBuffers);
    --rx_ready_count_;
    return net::NicResult<RxBuffer>(RxBuffer(*this, index, rx_length_[index]));
  }

  /// ISR-safe: the device's interrupt handler calls this (a real port also masks the device's
  /// line until service() ran). The main loop sees it through has_work() and calls service().
  void on_interrupt() noexcept { irq_pending_.store(true, std::memory_order_relaxed); }

  /// Main loop: acknowledges the device, moves queued frames into the MAC as its TX FIFO has room
  /// and received frames out of it into free buffers, and wakes the operations waiting for them.
  /// Bounded: at most kTxBuffers + kRxBuffers frames. Returns true if it woke anyone.
  bool service() noexcept;

  /// True if service() has something to do: call it instead of sleeping. Read with interrupts
  /// masked, just before sleeping (see main.cc).
  bool has_work() noexcept {
    if (irq_pending_.load(std::memory_order_relaxed) || mac_->irq_line()) return true;
    if (rx_ready_count_ > 0 && !rx_waiters_.is_empty()) return true;
    return rx_free_ != 0 && rx_frames_waiting() > 0;
  }

 private:
  static constexpr std::uint32_t kAllRx = (1u << kRxBuffers) - 1;
  static constexpr std::uint32_t kAllTx = (1u << kTxBuffers) - 1;

  std::uint32_t rx_frames_waiting() noexcept { return (mac_->read(&MacRegisters::rx_fifo_inf) >> 16) & 0xff; }
  void release_tx(std::uint8_t index) noexcept {
    tx_free_ |= 1u << index;
    tx_waiters_.notify_one();
  }
  void queue_tx(std::uint8_t index, std::uint16_t length) noexcept;
  bool write_frame(std::uint8_t index) noexcept;
  bool pull_rx() noexcept;

  FakeMac* mac_;
  alignas(4) std::array<std::array<std::byte, kBufferBytes>, kTxBuffers + kRxBuffers> buffers_;  // TX, then RX
  std::uint32_t tx_free_ = kAllTx;  // bit i: TX buffer i is free
  std::uint32_t rx_free_ = kAllRx;  // bit i: RX buffer i is free (neither filled nor held by the stack)
  // Submitted frames waiting for room in the MAC's TX FIFO, in order.
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
  WaiterList tx_waiters_;
  WaiterList rx_waiters_;
};

static_assert(pollstack::net::Nic<ExampleNic>);

}  // namespace pollstack::firmware
