// loopback_driver: every frame the stack sends comes back to it as received.
//   loopback_driver --socket PATH [--rate-limit FRAMES_PER_SECOND]
// --rate-limit takes at most that many frames per second from the stack; the rest wait in its TX
// ring (`overload --tcp` uses it: a TCP connection to the stack's own address, slowed down).
// Exits when the stack goes away, printing its counters.
#include <poll.h>

#include <cstdio>

#include "driver_channel/loopback.h"
#include "tools/drivers/driver_main.h"

int main(int argc, char** argv) {
  using namespace pollstack;
  constexpr const char* kProgram = "loopback_driver";
  const drivers::DriverOptions options = drivers::parse_driver_options(argc, argv, kProgram, {.rate_limit = true});
  driver_channel::Attachment attachment = drivers::attach_or_exit(options, kProgram);
  driver_channel::DriverPort port(attachment.region, &attachment.stack_bell);
  driver_channel::Loopback loopback(port);
  drivers::RateLimit rate_limit(options.rate_limit_pps);
  for (;;) {
    if (port.stack_faulted()) {
      std::fprintf(stderr, "%s: the stack broke the ring protocol; detaching\n", kProgram);
      break;
    }
    const std::uint32_t moved = loopback.step(rate_limit.allowed(driver_channel::kMaxBatch));
    rate_limit.took(moved);
    if (moved > 0) continue;
    if (rate_limit.throttled()) {
      // Frames wait in the TX ring on purpose: sleep a millisecond (watching the lifeline) rather
      // than ask whether there is work.
      pollfd lifeline{attachment.lifeline_fd, POLLIN, 0};
      if (poll(&lifeline, 1, 1) > 0 && driver_channel::driver_gone(attachment.lifeline_fd)) break;
      continue;
    }
    if (!drivers::wait_for_work(attachment, port, loopback.wants_rx_buffers(), 100)) break;  // stack gone
  }
  drivers::print_counters(kProgram, port.counters());
  return 0;
}
