#include "driver_channel/driver_port.h"

namespace pollstack::driver_channel {

DriverPort::DriverPort(SharedRegion& region, Doorbell* stack_doorbell) noexcept
    : region_(&region),
      stack_doorbell_(stack_doorbell),
      tx_(region.layout().tx),
      tx_done_(region.layout().tx_done),
      rx_(region.layout().rx),
      rx_fill_(region.layout().rx_fill) {}

std::uint32_t DriverPort::take_tx(std::span<Descriptor> out) noexcept {
  const std::uint32_t n = tx_.pop(out);
  counters_.tx_taken += n;
  return n;
}

std::uint32_t DriverPort::complete_tx(std::span<const Descriptor> done) noexcept {
  const std::uint32_t n = tx_done_.push(done);
  counters_.tx_completed += n;
  if (n > 0) ring_stack_if_sleeping(tx_done_);
  return n;
}

std::uint32_t DriverPort::take_rx_fill(std::span<Descriptor> out) noexcept { return rx_fill_.pop(out); }

std::uint32_t DriverPort::deliver_rx(std::span<const Descriptor> frames) noexcept {
  const std::uint32_t n = rx_.push(frames);
  counters_.rx_delivered += n;
  if (n > 0) ring_stack_if_sleeping(rx_);
  return n;
}

std::span<std::byte> DriverPort::frame(const Descriptor& d) noexcept {
  if (d.buffer >= kBufferCount || d.offset > kBufferBytes || d.length > kBufferBytes - d.offset) {
    ++counters_.bad_descriptors;
    return {};
  }
  return region_->buffer(d.buffer).subspan(d.offset, d.length);
}

bool DriverPort::prepare_to_sleep(bool wants_rx_buffers) noexcept {
  ++counters_.sleep_flags_raised;
  if (!tx_.prepare_to_sleep()) return false;
  if (!wants_rx_buffers) return true;
  ++counters_.sleep_flags_raised;
  return rx_fill_.prepare_to_sleep();
}

bool DriverPort::stack_faulted() const noexcept {
  return tx_.fault() != RingFault::kNone || rx_fill_.fault() != RingFault::kNone ||
         tx_done_.fault() != RingFault::kNone || rx_.fault() != RingFault::kNone;
}

void DriverPort::ring_stack_if_sleeping(RingProducer& ring) noexcept {
  if (stack_doorbell_ != nullptr && ring.take_consumer_sleeping()) {
    stack_doorbell_->ring();
    ++counters_.doorbells_rung;
  }
}

}  // namespace pollstack::driver_channel
