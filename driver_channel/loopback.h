#pragma once
/// The loopback driver's work, as a library class so that the loopback program, in-process tests
/// and benchmarks run the same code: every frame sent comes back as received.

#include <cstdint>

#include "driver_channel/driver_port.h"

namespace pollstack::driver_channel {

class Loopback {
 public:
  explicit Loopback(DriverPort& port) noexcept : port_(&port) {}

  /// Moves up to kMaxBatch frames from TX to RX, copying each into an RX-fill buffer (the TX
  /// buffer goes back as TX-done). A frame waits in TX while no RX-fill buffer is free, so a stack
  /// that stops reading backs up into its own transmit path. Takes at most `most` frames (a rate
  /// limit's allowance). Returns how many frames moved.
  std::uint32_t step(std::uint32_t most = kMaxBatch) noexcept;

  /// False while its spare RX buffers are full: RX-fill entries are then no reason to wake.
  bool wants_rx_buffers() const noexcept { return spare_count_ < kMaxBatch; }

 private:
  DriverPort* port_;
  Descriptor spare_[kMaxBatch];  // RX-fill buffers taken from the ring, not yet used
  std::uint32_t spare_count_ = 0;
};

}  // namespace pollstack::driver_channel
