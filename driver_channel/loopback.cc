#include "driver_channel/loopback.h"

#include <algorithm>
#include <cstring>

namespace pollstack::driver_channel {

std::uint32_t Loopback::step(std::uint32_t most) noexcept {
  spare_count_ += port_->take_rx_fill(std::span(spare_).subspan(spare_count_));
  // Never take more TX frames than there are buffers to receive them into.
  Descriptor sent[kMaxBatch];
  const std::uint32_t frames = port_->take_tx(std::span(sent).first(std::min(spare_count_, most)));
  Descriptor received[kMaxBatch];
  for (std::uint32_t i = 0; i < frames; ++i) {
    const Descriptor fill = spare_[--spare_count_];
    const std::span<std::byte> from = port_->frame(sent[i]);
    const std::span<std::byte> to = port_->frame(fill);
    const std::size_t length = std::min(from.size(), to.size());
    if (length > 0) std::memcpy(to.data(), from.data(), length);
    received[i] = Descriptor{fill.buffer, 0, static_cast<std::uint32_t>(length), 0};
  }
  port_->deliver_rx(std::span(received).first(frames));
  port_->complete_tx(std::span(sent).first(frames));
  return frames;
}

}  // namespace pollstack::driver_channel
