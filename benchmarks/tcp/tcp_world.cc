#include "benchmarks/tcp/tcp_world.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace pollstack::bench {
namespace {

using driver_channel::Descriptor;
using driver_channel::kMaxBatch;

// A harness that cannot do what it promises stops loudly (a benchmark figure over a broken wire
// would be worse than none).
[[noreturn]] void broken(const char* why) noexcept {
  std::fprintf(stderr, "Wire: %s\n", why);
  std::abort();
}

driver_channel::SharedRegion make_region() noexcept {
  int error = 0;
  std::optional<driver_channel::SharedRegion> region = driver_channel::SharedRegion::create(&error);
  if (!region) broken(std::strerror(error));
  return std::move(*region);
}

}  // namespace

Wire::End::End() noexcept : region(make_region()), channel(region, nullptr), port(region, nullptr) {}

Wire::Wire() noexcept = default;

std::uint32_t Wire::carry() noexcept {
  const std::uint32_t moved = carry(a_, b_, a_to_b_) + carry(b_, a_, b_to_a_);
  if (moved > 0) {
    // Each channel takes back its sent buffers (waking a reservation that waited for one) and
    // notices its received frames (waking its task's receive).
    a_.channel.service();
    b_.channel.service();
  }
  return moved;
}

std::uint32_t Wire::carry(End& from, End& to, Direction& way) noexcept {
  std::uint32_t moved = 0;
  for (;;) {
    way.spare_count += to.port.take_rx_fill(std::span(way.spare).subspan(way.spare_count));
    if (way.spare_count == 0) {
      ++way.counters.out_of_buffers;
      break;
    }
    // Never take more frames than there are buffers to receive them into: the rest wait.
    Descriptor sent[kMaxBatch];
    const std::uint32_t n = from.port.take_tx(std::span(sent).first(way.spare_count));
    if (n == 0) break;
    Descriptor received[kMaxBatch];
    for (std::uint32_t i = 0; i < n; ++i) {
      const Descriptor fill = way.spare[--way.spare_count];
      const std::span<const std::byte> frame = from.port.frame(sent[i]);
      const std::span<std::byte> into = to.port.frame(fill);
      if (frame.empty() || frame.size() > into.size()) broken("a frame the other side cannot receive");
      std::memcpy(into.data(), frame.data(), frame.size());  // the one copy, as on a cable
      received[i] = Descriptor{fill.buffer, 0, static_cast<std::uint32_t>(frame.size()), 0};
      way.counters.bytes += frame.size();
    }
    // The rings hold every buffer of a pool (driver_channel/options.h), so neither can refuse.
    if (to.port.deliver_rx(std::span(received).first(n)) != n) broken("the receive ring refused a frame");
    if (from.port.complete_tx(std::span(sent).first(n)) != n) broken("the TX-done ring refused a buffer");
    way.counters.frames += n;
    moved += n;
  }
  return moved;
}

}  // namespace pollstack::bench
