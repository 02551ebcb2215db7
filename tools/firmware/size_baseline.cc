/// The size report's baseline: the same board, startup, LAN9118 driver (its receive path) and main
/// loop as the firmware, without the stack: every received frame is dropped. The firmware's code
/// minus this image's is what the network stack and its services cost (size_report.py), plus the
/// little the baseline does not use: the driver's transmit path, the clock, semihosting.
/// Built by //tools/firmware:size_baseline; never run by the tests.

#include "tools/firmware/board.h"
#include "tools/firmware/lan9118.h"

namespace pollstack::firmware {
namespace {
StaticStorage<Lan9118> g_nic;
}  // namespace

[[noreturn]] void run() noexcept {
  paint_stack();
  Lan9118& nic = g_nic.emplace(lan9118_registers(), kLan9118Line);
  route_lan9118_interrupt(nic);
  if (nic.start({{0x02, 0, 0, 0, 0, 0x02}})) {
    disable_interrupts();
    for (;;) wait_for_interrupt();
  }
  start_systick();
  for (;;) {
    nic.service();
    while (nic.try_receive()) {
    }  // each frame dropped as soon as taken
    disable_interrupts();
    if (!nic.has_work()) wait_for_interrupt();
    enable_interrupts();
  }
}

}  // namespace pollstack::firmware

int main() { pollstack::firmware::run(); }
