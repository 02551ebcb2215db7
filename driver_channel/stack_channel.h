#pragma once
/// StackChannel: the stack's end of the driver channel. Poll-style, no allocation.
///
/// It implements the NIC contract (layers/nic/nic.h; static_assert below):
///  - reserve_tx() is a state machine: Ready with a TxBuffer when a pool buffer and a TX slot are
///    free, Pending otherwise. Waiting reservations queue first come, first served (WaiterList):
///    each buffer the driver gives back wakes the next one (taken back in service(), or by a
///    reservation, which then passes any room left to the next in line), and a reservation
///    dropped while it waits leaves the queue. This is where backpressure is born.
///  - TxBuffer is an owning handle: submit(length) hands the frame to the driver; dropping it
///    unsubmitted returns the buffer to the pool.
///  - receive() is a state machine: Ready with an RxBuffer when a frame arrived, Pending otherwise.
///    Dropping the RxBuffer gives the buffer back to the driver to receive into.
///  - service() is called by the I/O loop when the driver's doorbell rings (or before sleeping): it
///    takes back sent buffers and wakes whoever waits for room or for frames.
///  - Batches (batch(): a guard, like Linux's xmit_more): while one is alive, submitted frames and
///    receive buffers given back are written into their rings but published together, with one
///    index store and one doorbell decision, when the last guard ends (or every kMaxBatch). The
///    interface task holds one for each poll; without one, each frame is published at once.
///  - When the driver misbehaves at the ring level, or is gone (link_down()), every buffer it held
///    is reclaimed and operations complete with ChannelError::kLinkDown instead of waiting forever.
///
/// One thread owns a StackChannel; wakers it fires may belong to any task on that thread. Buffer
/// handles and operations refer to their channel: they must not outlive it.

#include <cstdint>
#include <optional>
#include <span>
#include <utility>

#include "driver_channel/buffer_ledger.h"
#include "driver_channel/doorbell.h"
#include "driver_channel/region.h"
#include "driver_channel/ring.h"
#include "layers/nic/nic.h"
#include "layers/nic/nic_operation.h"
#include "statemachines/result.h"
#include "statemachines/state_cell.h"
#include "statemachines/state_machine.h"
#include "statemachines/waiter_list.h"

namespace pollstack::driver_channel {

/// The channel's errors are the NIC contract's: kLinkDown when the driver is gone or broke the
/// ring protocol.
using ChannelError = net::NicError;
template <class T>
using ChannelResult = net::NicResult<T>;

struct ChannelCounters {
  std::uint64_t tx_submitted = 0;
  std::uint64_t tx_completed = 0;      // buffers the driver gave back after sending
  std::uint64_t tx_pending = 0;        // reserve_tx() polls that returned Pending (backpressure)
  std::uint64_t tx_dropped_link_down = 0;  // submitted while the link was down
  std::uint64_t rx_received = 0;
  std::uint64_t ring_faults = 0;       // the driver broke the ring protocol (link then down)
  std::uint64_t doorbells_rung = 0;    // system calls made to wake the driver
  std::uint64_t link_downs = 0;
};

class StackChannel;

/// A frame tap (pollstackd --pcap): sees every frame the stack takes from the driver, as it takes
/// it, and every frame it hands to the driver, as it submits it. Runs on the stack's thread inside
/// the data path: it must be short and must not block (copy the bytes, count a drop if full).
enum class FrameDirection : std::uint8_t { kReceived, kSent };
using FrameTap = void (*)(void* context, FrameDirection direction, std::span<const std::byte> frame) noexcept;

class TxBuffer {
 public:
  TxBuffer(TxBuffer&& other) noexcept
      : channel_(std::exchange(other.channel_, nullptr)), buffer_(other.buffer_) {}
  TxBuffer& operator=(TxBuffer&&) = delete;
  ~TxBuffer();

  /// The whole buffer, to write a frame into from offset 0.
  std::span<std::byte> bytes() noexcept;

  /// Hands the first `length` bytes to the driver. Returns false (frame counted as dropped,
  /// buffer back in the pool) if the link went down meanwhile.
  bool submit(std::uint32_t length) noexcept;

 private:
  friend class StackChannel;
  TxBuffer(StackChannel& channel, std::uint32_t buffer) noexcept : channel_(&channel), buffer_(buffer) {}

  StackChannel* channel_;
  std::uint32_t buffer_;
};

class RxBuffer {
 public:
  RxBuffer(RxBuffer&& other) noexcept
      : channel_(std::exchange(other.channel_, nullptr)), descriptor_(other.descriptor_) {}
  RxBuffer& operator=(RxBuffer&&) = delete;
  ~RxBuffer();

  /// The received frame.
  std::span<const std::byte> bytes() const noexcept;

 private:
  friend class StackChannel;
  RxBuffer(StackChannel& channel, const Descriptor& d) noexcept : channel_(&channel), descriptor_(d) {}

  StackChannel* channel_;
  Descriptor descriptor_;
};

class StackChannel {
 public:
  // The NIC contract's names and capacities (layers/nic/nic.h).
  using TxBuffer = driver_channel::TxBuffer;
  using RxBuffer = driver_channel::RxBuffer;
  static constexpr std::size_t kBufferBytes = driver_channel::kBufferBytes;
  static constexpr std::size_t kRxBuffers = kRxFillBuffers;

  /// Takes the region's rings over (they must be empty) and lends kRxFillBuffers to the driver.
  /// `driver_doorbell` (may be null: a busy-polling driver) is rung when the driver said it
  /// sleeps and the stack gave it work.
  explicit StackChannel(SharedRegion& region, Doorbell* driver_doorbell = nullptr) noexcept;
  StackChannel(const StackChannel&) = delete;
  StackChannel& operator=(const StackChannel&) = delete;

 private:
  // Declared before the aliases below, which name them.
  // The channel's one try for each operation (see net::NicOperation): Pending with the waiter
  // queued in that direction's WaiterList when there is no buffer or frame for it.
  Poll<ChannelResult<TxBuffer>> poll_reserve_tx(Waiter& waiter, Context& cx) noexcept;
  Poll<ChannelResult<RxBuffer>> poll_receive(Waiter& waiter, Context& cx) noexcept;

 public:
  /// reserve_tx() returns one of these: Ready with a TxBuffer, or with kLinkDown.
  using TxReservation = net::NicOperation<StackChannel, TxBuffer, &StackChannel::poll_reserve_tx>;
  /// receive() returns one of these: Ready with an RxBuffer, or with kLinkDown.
  using Receive = net::NicOperation<StackChannel, RxBuffer, &StackChannel::poll_receive>;

  TxReservation reserve_tx() noexcept { return TxReservation(*this); }
  Receive receive() noexcept { return Receive(*this); }

  /// Holds frames submitted and receive buffers given back while it lives, and publishes them all
  /// when the last one ends (see the header comment). Nestable; must not outlive the channel.
  class Batch {
   public:
    explicit Batch(StackChannel& channel) noexcept : channel_(&channel) { ++channel.batch_depth_; }
    Batch(Batch&& other) noexcept : channel_(std::exchange(other.channel_, nullptr)) {}
    Batch(const Batch&) = delete;
    Batch& operator=(const Batch&) = delete;
    Batch& operator=(Batch&&) = delete;
    ~Batch() {
      if (channel_ != nullptr && --channel_->batch_depth_ == 0) channel_->flush();
    }

   private:
    StackChannel* channel_;
  };
  Batch batch() noexcept { return Batch(*this); }

  /// Publishes whatever a batch holds now (also done by service() and prepare_to_sleep()).
  void flush() noexcept;

  /// The same two attempts without waiting: nullopt where the operations would be Pending (a
  /// reservation also while others queue for room: it does not jump the queue). For synchronous
  /// callers and for taking frames that are already there; nothing is woken later.
  std::optional<ChannelResult<TxBuffer>> try_reserve_tx() noexcept;
  std::optional<ChannelResult<RxBuffer>> try_receive() noexcept;

  /// Takes back sent buffers, notices new frames and ring faults, and wakes waiters. Bounded:
  /// at most kMaxBatch descriptors. Returns true if it woke anyone.
  bool service() noexcept;

  /// Tells the driver this side is about to sleep (it will ring the doorbell for the next TX-done
  /// or RX entry). Returns false if work arrived meanwhile: call service() instead of sleeping.
  bool prepare_to_sleep() noexcept;

  /// The driver is gone (its process exited, its socket closed): reclaim every buffer it held and
  /// complete every waiting operation with kLinkDown. Idempotent.
  void link_down() noexcept;

  /// After link_down(), starts over with a new driver on the same region: resets the four rings
  /// (the old driver is gone: its lifeline closed) and lends RX buffers again. Call it before the
  /// new driver attaches (it reads the rings as soon as it has the region). Buffers the stack
  /// still holds (live TxBuffer / RxBuffer handles) stay valid and return as usual.
  void reattach() noexcept;

  /// Installs `tap` (nullptr removes it); a channel without one pays one compare per frame.
  void set_frame_tap(FrameTap tap, void* context) noexcept {
    tap_ = tap;
    tap_context_ = context;
  }

  bool is_link_up() const noexcept { return link_up_; }
  const ChannelCounters& counters() const noexcept { return counters_; }
  const BufferLedger& ledger() const noexcept { return ledger_; }

 private:
  friend class driver_channel::TxBuffer;
  friend class driver_channel::RxBuffer;

  std::optional<ChannelResult<TxBuffer>> reserve_now() noexcept;
  bool has_tx_room() noexcept { return tx_.free_slots() > tx_reserved_ && ledger_.free_count() > 0; }
  std::uint32_t reap_tx_done() noexcept;
  void lend_for_rx(std::uint32_t buffer) noexcept;
  void lend_rx_fill() noexcept;
  void check_ring_faults() noexcept;
  void protocol_fault() noexcept;
  void ring_driver_doorbell() noexcept;
  bool submit_tx(std::uint32_t buffer, std::uint32_t length) noexcept;
  void cancel_tx(std::uint32_t buffer) noexcept;
  void publish_tx() noexcept;
  void publish_rx_fill() noexcept;

  SharedRegion* region_;
  Doorbell* driver_doorbell_;
  RingProducer tx_;
  RingConsumer tx_done_;
  RingConsumer rx_;
  RingProducer rx_fill_;
  BufferLedger ledger_;
  std::uint32_t tx_reserved_ = 0;  // TxBuffers alive: each has a TX slot set aside
  std::uint32_t batch_depth_ = 0;  // Batch guards alive
  bool link_up_ = true;
  WaiterList tx_waiters_;
  WaiterList rx_waiters_;
  ChannelCounters counters_;
  FrameTap tap_ = nullptr;
  void* tap_context_ = nullptr;
};

// Inline: handles are moved up through every layer on the way to the application, and a moved-from
// handle's destructor must cost one compare, not a call.
inline TxBuffer::~TxBuffer() {
  if (channel_ != nullptr) channel_->cancel_tx(buffer_);
}

inline RxBuffer::~RxBuffer() {
  if (channel_ != nullptr) channel_->lend_for_rx(descriptor_.buffer);
}

// Inline too: every layer writes or reads its header through these.
inline std::span<std::byte> TxBuffer::bytes() noexcept {
  expect(channel_ != nullptr, "TxBuffer::bytes() after submit()");
  return channel_->region_->buffer(buffer_);
}

inline std::span<const std::byte> RxBuffer::bytes() const noexcept {
  return channel_->region_->buffer(descriptor_.buffer).subspan(descriptor_.offset, descriptor_.length);
}

// Inline: every received frame comes through here, and its RxBuffer is then moved into the
// receive path's own optional. Returned through memory from an out-of-line call, its fields were
// written with narrow stores and read back with one 16-byte load: a store-forwarding stall per
// frame (perf annotate, benchmarks/udp_path).
inline std::optional<ChannelResult<RxBuffer>> StackChannel::try_receive() noexcept {
  if (!link_up_) return ChannelResult<RxBuffer>(ChannelError::kLinkDown);
  // Bounded: at most kMaxBatch malformed descriptors are skipped per call.
  for (std::uint32_t attempt = 0; attempt < kMaxBatch; ++attempt) {
    Descriptor d;
    if (rx_.pop(std::span(&d, 1)) == 0) break;
    if (!ledger_.accept_rx(d).has_value()) {
      ++counters_.rx_received;
      RxBuffer frame(*this, d);
      if (tap_ != nullptr) tap_(tap_context_, FrameDirection::kReceived, frame.bytes());
      return ChannelResult<RxBuffer>(std::move(frame));
    }
  }
  check_ring_faults();
  if (!link_up_) return ChannelResult<RxBuffer>(ChannelError::kLinkDown);
  return std::nullopt;
}

static_assert(net::BatchingNic<StackChannel>);

}  // namespace pollstack::driver_channel
