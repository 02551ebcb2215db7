#pragma once
/// Arm semihosting (the debugger's, or QEMU's with -semihosting-config enable=on): text to the
/// host's console and an exit status, with no UART driver. Each call is a `bkpt 0xAB` the debugger
/// (or QEMU) traps and serves. WITHOUT ONE ATTACHED, A CALL STOPS THE CORE (a HardFault, or a
/// lockup): this image is for QEMU and for boards under a debugger; a product image would send
/// its report over a UART or the network instead.

#include <cstdint>

namespace pollstack::firmware::semihosting {

namespace detail {
inline std::uint32_t call(std::uint32_t operation, const void* argument) noexcept {
  register std::uint32_t r0 asm("r0") = operation;
  register const void* r1 asm("r1") = argument;
  asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}
inline constexpr std::uint32_t kWrite0 = 0x04;        // SYS_WRITE0: a NUL-terminated string
inline constexpr std::uint32_t kExitExtended = 0x20;  // SYS_EXIT_EXTENDED: reason and status
inline constexpr std::uint32_t kApplicationExit = 0x20026;  // ADP_Stopped_ApplicationExit
}  // namespace detail

/// Writes a NUL-terminated string to the host's console.
inline void write(const char* text) noexcept { (void)detail::call(detail::kWrite0, text); }

/// Ends the program with `status` (QEMU exits with it).
[[noreturn]] inline void exit(std::uint32_t status) noexcept {
  const std::uint32_t block[2] = {detail::kApplicationExit, status};
  (void)detail::call(detail::kExitExtended, block);
  for (;;) asm volatile("bkpt #0");  // not reached under QEMU
}

}  // namespace pollstack::firmware::semihosting
