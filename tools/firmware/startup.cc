/// The least a Cortex-M4 image needs before main(): the vector table (initial stack pointer,
/// Reset_Handler, SysTick_Handler, the LAN9118's interrupt; every other exception and interrupt
/// goes to a handler that stops), and Reset_Handler: copy .data from flash, zero .bss, run the static constructors,
/// call main(). The symbols come from mps2_an386.ld. Linked with -nostartfiles: no crt0, and so
/// no _init/_fini and no __libc_init_array; the constructor loop is the six lines below.

#include <cstddef>
#include <cstdint>

extern "C" {

// From the linker script.
extern std::uint32_t __data_load[];  // .data's initial values, in flash
extern std::uint32_t __data_start[];
extern std::uint32_t __data_end[];
extern std::uint32_t __bss_start[];
extern std::uint32_t __bss_end[];
extern std::uint32_t __stack_top[];
using Constructor = void (*)();
extern Constructor __preinit_array_start[];
extern Constructor __preinit_array_end[];
extern Constructor __init_array_start[];
extern Constructor __init_array_end[];

int main();
void SysTick_Handler();
void Lan9118_IRQHandler();

[[noreturn]] void Default_Handler() {
  for (;;) asm volatile("bkpt #0");  // a fault or an unexpected interrupt: stop here for the debugger
}

[[noreturn]] void Reset_Handler() {
  // Plain word loops, written volatile so that the compiler does not turn them into memcpy and
  // memset calls: nothing else of the C library runs before .data and .bss are in place.
  volatile std::uint32_t* to = __data_start;
  for (const std::uint32_t* from = __data_load; to < __data_end;) *to++ = *from++;
  for (volatile std::uint32_t* p = __bss_start; p < __bss_end;) *p++ = 0;
  for (Constructor* c = __preinit_array_start; c < __preinit_array_end; ++c) (*c)();
  for (Constructor* c = __init_array_start; c < __init_array_end; ++c) (*c)();
  main();
  Default_Handler();  // main() does not return
}

}  // extern "C"

namespace {

using Handler = void (*)();

/// Exceptions 1..15 of the Armv7-M architecture, then the board's interrupts (32 on mps2-an386).
struct VectorTable {
  const void* initial_stack_pointer;
  Handler exceptions[15];
  Handler interrupts[32];
};

constexpr VectorTable make_vector_table() {
  VectorTable t{__stack_top, {}, {}};
  for (Handler& h : t.exceptions) h = Default_Handler;
  for (Handler& h : t.interrupts) h = Default_Handler;
  t.exceptions[0] = Reset_Handler;     // 1: Reset
  t.exceptions[14] = SysTick_Handler;  // 15: SysTick
  t.interrupts[13] = Lan9118_IRQHandler;  // the board's Ethernet controller
  return t;
}

}  // namespace

// Placed first in flash by the linker script; constant-initialized (checked), so it is in the
// image itself, not built by a constructor.
[[gnu::section(".isr_vector"), gnu::used]] constinit const VectorTable g_vector_table = make_vector_table();
