// loopback_driver: every frame the stack sends comes back to it as received.
//   loopback_driver --socket PATH
// Exits when the stack goes away, printing its counters.
#include <cstdio>

#include "driver_channel/loopback.h"
#include "tools/drivers/driver_main.h"

int main(int argc, char** argv) {
  using namespace pollstack;
  constexpr const char* kProgram = "loopback_driver";
  const drivers::DriverOptions options = drivers::parse_driver_options(argc, argv, kProgram, {});
  driver_channel::Attachment attachment = drivers::attach_or_exit(options, kProgram);
  driver_channel::DriverPort port(attachment.region, &attachment.stack_bell);
  driver_channel::Loopback loopback(port);
  for (;;) {
    if (port.stack_faulted()) {
      std::fprintf(stderr, "%s: the stack broke the ring protocol; detaching\n", kProgram);
      break;
    }
    if (loopback.step() > 0) continue;
    if (!drivers::wait_for_work(attachment, port, loopback.wants_rx_buffers(), 100)) break;  // stack gone
  }
  drivers::print_counters(kProgram, port.counters());
  return 0;
}
