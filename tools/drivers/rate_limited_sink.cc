// rate_limited_sink: takes frames from the stack at a fixed rate and discards them, to show
// backpressure: a stack sending faster is held back by Pending, not by drops.
//   rate_limited_sink --socket PATH --rate PACKETS_PER_SECOND [--sequence-offset BYTES]
// The 4 bytes at the sequence offset of each frame (default 0; 42 is the first payload byte of a
// UDP datagram over IPv4 and Ethernet) are read as a sequence number; a gap (a frame the stack
// lost) is counted. Exits when the stack goes away, printing its counters; exit status 3 if any gap.
#include <time.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "tools/drivers/driver_main.h"

namespace {

std::uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace pollstack;
  using driver_channel::Descriptor;
  using driver_channel::kMaxBatch;
  constexpr const char* kProgram = "rate_limited_sink";
  const drivers::DriverOptions options = drivers::parse_driver_options(argc, argv, kProgram, {.rate = true});
  driver_channel::Attachment attachment = drivers::attach_or_exit(options, kProgram);
  driver_channel::DriverPort port(attachment.region, &attachment.stack_bell);

  // Token bucket: `rate_pps` tokens per second, at most one batch banked.
  const std::uint64_t start = now_ns();
  std::uint64_t granted = 0;  // tokens handed out so far
  std::uint64_t expected_sequence = 0;
  std::uint64_t gaps = 0;
  for (;;) {
    if (port.stack_faulted()) {
      std::fprintf(stderr, "%s: the stack broke the ring protocol; detaching\n", kProgram);
      break;
    }
    const std::uint64_t earned = (now_ns() - start) * options.rate_pps / 1'000'000'000u;
    granted = std::max(granted, earned > kMaxBatch ? earned - kMaxBatch : 0);  // cap the bank
    const auto tokens = static_cast<std::uint32_t>(std::min<std::uint64_t>(earned - granted, kMaxBatch));
    Descriptor frames[kMaxBatch];
    const std::uint32_t n = port.take_tx(std::span(frames).first(tokens));
    for (std::uint32_t i = 0; i < n; ++i) {
      const std::span<std::byte> bytes = port.frame(frames[i]);
      std::uint32_t sequence = 0;
      if (bytes.size() >= options.sequence_offset + sizeof sequence) {
        std::memcpy(&sequence, bytes.data() + options.sequence_offset, sizeof sequence);
      }
      gaps += sequence != static_cast<std::uint32_t>(expected_sequence);
      expected_sequence = sequence + std::uint64_t{1};
    }
    port.complete_tx(std::span(frames).first(n));
    granted += n;
    if (n == tokens && tokens > 0) continue;  // used every token: more may be waiting
    if (tokens == 0) {
      // Out of tokens (frames are waiting: that is the backpressure): sleep until the next one.
      if (driver_channel::driver_gone(attachment.lifeline_fd)) break;
      const std::uint64_t next_token_ns = (granted + 1) * 1'000'000'000u / options.rate_pps;
      const std::uint64_t elapsed = now_ns() - start;
      if (next_token_ns > elapsed) {
        const std::uint64_t pause = next_token_ns - elapsed;
        const timespec ts{static_cast<time_t>(pause / 1'000'000'000u), static_cast<long>(pause % 1'000'000'000u)};
        nanosleep(&ts, nullptr);
      }
      continue;
    }
    // Out of frames: sleep until the stack rings (or 100 ms, to check the lifeline).
    if (!drivers::wait_for_work(attachment, port, false, 100)) break;  // the stack is gone
  }
  drivers::print_counters(kProgram, port.counters());
  std::fprintf(stderr, "%s: sequence_gaps=%" PRIu64 "\n", kProgram, gaps);
  return gaps == 0 ? 0 : 3;
}
