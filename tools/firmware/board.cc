#include "tools/firmware/board.h"

#include "statemachines/contract.h"
#include "tools/firmware/semihosting.h"

extern "C" std::uint32_t __stack_bottom[];  // from the linker script
extern "C" std::uint32_t __stack_top[];

namespace pollstack::firmware {

volatile std::uint32_t g_milliseconds = 0;

namespace {
Lan9118* volatile g_interrupt_nic = nullptr;
constexpr std::uint32_t kStackPaint = 0x5741434b;
}  // namespace

void route_lan9118_interrupt(Lan9118& nic) noexcept { g_interrupt_nic = &nic; }

[[gnu::noinline]] void paint_stack() noexcept {
  std::uint32_t here;
  asm volatile("mov %0, sp" : "=r"(here));
  for (volatile std::uint32_t* p = __stack_bottom; reinterpret_cast<std::uintptr_t>(p) < here - 64; ++p) *p = kStackPaint;
}

std::uint32_t stack_used() noexcept {
  const volatile std::uint32_t* p = __stack_bottom;
  while (p < __stack_top && *p == kStackPaint) ++p;
  return static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(__stack_top) - reinterpret_cast<std::uintptr_t>(p));
}

std::uint32_t stack_size() noexcept {
  return static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(__stack_top) -
                                    reinterpret_cast<std::uintptr_t>(__stack_bottom));
}

}  // namespace pollstack::firmware

namespace pollstack {

/// Debug builds (NDEBUG not defined) check the poll vocabulary's contracts; a violation stops
/// here: its message to the semihosting console (a debugger's, or QEMU's), then a breakpoint. No
/// stdio: newlib's would bring its heap in (statemachines/contract.cc's version is weak).
void contract_violated(const char* what, const SourceLocation& where) noexcept {
  firmware::semihosting::write("pollstack: contract violated: ");
  firmware::semihosting::write(what);
  firmware::semihosting::write("\n  at ");
  firmware::semihosting::write(where.file);
  firmware::semihosting::write("\n");
  firmware::semihosting::exit(134);  // as an abort would
}

}  // namespace pollstack

extern "C" void SysTick_Handler() {
  pollstack::firmware::g_milliseconds = pollstack::firmware::g_milliseconds + 1;
}

/// The LAN9118's interrupt (IRQ 13): the driver masks its line and flags the main loop; nothing
/// else runs here. Before the driver exists the line is only masked.
extern "C" void Lan9118_IRQHandler() {
  if (pollstack::firmware::Lan9118* nic = pollstack::firmware::g_interrupt_nic) {
    nic->on_interrupt();
  } else {
    pollstack::firmware::mask_lan9118_irq();
  }
}
