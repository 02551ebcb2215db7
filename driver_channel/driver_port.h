#pragma once
/// DriverPort: the driver's end of the channel, the small library every driver program is built
/// on (loopback, rate-limited sink, pcap writer, TAP). The driver consumes TX and RX-fill and
/// produces TX-done and RX; it rings the stack's doorbell only when the stack said it sleeps.
///
/// The driver protects itself too: a descriptor from the stack that points outside the pool is
/// not followed (frame() returns an empty span), so a broken stack cannot make a driver read or
/// write out of bounds.

#include <cstdint>
#include <span>

#include "driver_channel/doorbell.h"
#include "driver_channel/region.h"
#include "driver_channel/ring.h"

namespace pollstack::driver_channel {

struct DriverCounters {
  std::uint64_t tx_taken = 0;
  std::uint64_t tx_completed = 0;
  std::uint64_t rx_delivered = 0;
  std::uint64_t bad_descriptors = 0;  // from the stack, outside the pool
  std::uint64_t doorbells_rung = 0;
  std::uint64_t sleep_flags_raised = 0;  // "ring me" flags set on the stack's rings; each allows one ring
};

class DriverPort {
 public:
  /// `stack_doorbell` may be null (a stack that busy-polls).
  DriverPort(SharedRegion& region, Doorbell* stack_doorbell) noexcept;

  /// Frames to send, up to out.size() (bounded by kMaxBatch).
  std::uint32_t take_tx(std::span<Descriptor> out) noexcept;
  /// Gives sent buffers back to the stack. Returns how many fit (all, unless the stack broke the
  /// ring).
  std::uint32_t complete_tx(std::span<const Descriptor> done) noexcept;

  /// Empty buffers to receive into.
  std::uint32_t take_rx_fill(std::span<Descriptor> out) noexcept;
  /// Hands received frames (buffer, offset, length) to the stack.
  std::uint32_t deliver_rx(std::span<const Descriptor> frames) noexcept;

  /// The bytes a descriptor names; empty if it points outside the pool (counted).
  std::span<std::byte> frame(const Descriptor& d) noexcept;

  /// About to sleep: ask the stack to ring for new TX entries and, if `wants_rx_buffers`, for
  /// RX-fill entries. False if such work arrived meanwhile. A driver whose spare buffers are full
  /// must pass false, or RX-fill entries it cannot take would keep it awake.
  bool prepare_to_sleep(bool wants_rx_buffers) noexcept;

  /// True if either ring the stack produces has broken the protocol.
  bool stack_faulted() const noexcept;

  const DriverCounters& counters() const noexcept { return counters_; }

 private:
  void ring_stack_if_sleeping(RingProducer& ring) noexcept;

  SharedRegion* region_;
  Doorbell* stack_doorbell_;
  RingConsumer tx_;
  RingProducer tx_done_;
  RingProducer rx_;
  RingConsumer rx_fill_;
  DriverCounters counters_;
};

}  // namespace pollstack::driver_channel
