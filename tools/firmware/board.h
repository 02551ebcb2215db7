#pragma once
/// What the firmware needs of Arm's MPS2 board (QEMU's mps2-an386) and of the Cortex-M4 core,
/// written out without CMSIS: the LAN9118's address and interrupt line, SysTick as a millisecond
/// clock, the core's sleep instructions, static storage without the heap, and the main stack's
/// high-water mark. The interrupt handlers are in board.cc: they only count (SysTick) or flag the
/// driver (the LAN9118's), so the stack itself runs in the main loop alone.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>

#include "statemachines/clock.h"
#include "tools/firmware/lan9118.h"

namespace pollstack::firmware {

// ---- the board ---------------------------------------------------------------------------------

inline constexpr std::uintptr_t kLan9118Base = 0x40200000;  // mps2-an385/an386/an500/an511
inline constexpr std::uint32_t kLan9118Irq = 13;
inline constexpr std::uint32_t kCoreHz = 25'000'000;  // mps2-an386's SYSCLK (QEMU models the same)

inline volatile Lan9118Registers& lan9118_registers() noexcept {
  return *reinterpret_cast<volatile Lan9118Registers*>(kLan9118Base);
}
inline void mask_lan9118_irq() noexcept { *reinterpret_cast<volatile std::uint32_t*>(0xE000E180) = 1u << kLan9118Irq; }  // NVIC ICER0
/// Clears the line's pending state (NVIC ICPR0), then enables it (ISER0): see Lan9118::InterruptLine.
inline void unmask_lan9118_irq() noexcept {
  *reinterpret_cast<volatile std::uint32_t*>(0xE000E280) = 1u << kLan9118Irq;
  *reinterpret_cast<volatile std::uint32_t*>(0xE000E100) = 1u << kLan9118Irq;
}
inline constexpr Lan9118::InterruptLine kLan9118Line{&mask_lan9118_irq, &unmask_lan9118_irq};

/// The driver the LAN9118's interrupt handler flags (board.cc); set once it is constructed.
void route_lan9118_interrupt(Lan9118& nic) noexcept;

// ---- static storage, constructed in main(), never destroyed ------------------------------------

/// Room for one T in .bss, constructed once at run time. Never destroyed: firmware does not exit,
/// so no destructor is registered (no atexit table, no __cxa_atexit) and nothing is allocated.
template <class T>
class StaticStorage {
 public:
  template <class... Args>
  T& emplace(Args&&... args) noexcept {
    object_ = ::new (static_cast<void*>(bytes_)) T(std::forward<Args>(args)...);
    return *object_;
  }
  T* get() const noexcept { return object_; }  // null until emplaced

 private:
  alignas(T) std::byte bytes_[sizeof(T)];
  T* object_ = nullptr;
};

// ---- time: SysTick every millisecond -----------------------------------------------------------

/// Milliseconds since start_systick(). Written only by SysTick_Handler (board.cc); a 32-bit load
/// or store is atomic on Cortex-M, so readers need no lock.
extern volatile std::uint32_t g_milliseconds;

inline void start_systick() noexcept {
  struct SysTickRegisters {
    std::uint32_t csr;  // 0xE000E010 control and status
    std::uint32_t rvr;  // 0xE000E014 reload value
    std::uint32_t cvr;  // 0xE000E018 current value
  };
  volatile SysTickRegisters& systick = *reinterpret_cast<volatile SysTickRegisters*>(0xE000E010);
  systick.rvr = kCoreHz / 1000 - 1;
  systick.cvr = 0;
  systick.csr = 0b111;  // processor clock, interrupt on, counter on
}

/// The stack's clock over the 32-bit millisecond tick: a monotonic 64-bit Instant in
/// microseconds. The tick wraps every 2^32 ms (49.7 days); now() counts the wraps, which needs
/// it to be called at least once per wrap: the main loop's sleep calls it on every tick.
class TickClock {
 public:
  Instant now() noexcept {
    const std::uint32_t ticks = g_milliseconds;
    if (ticks < last_) ++wraps_;
    last_ = ticks;
    const std::uint64_t ms = (std::uint64_t{wraps_} << 32) | ticks;
    return Instant{} + std::chrono::milliseconds(static_cast<std::int64_t>(ms));
  }

 private:
  std::uint32_t last_ = 0;
  std::uint32_t wraps_ = 0;
};
static_assert(Clock<TickClock>);

// ---- sleeping: the core's own instructions -----------------------------------------------------

inline void disable_interrupts() noexcept { asm volatile("cpsid i" ::: "memory"); }
inline void enable_interrupts() noexcept { asm volatile("cpsie i" ::: "memory"); }
/// Sleeps until an interrupt is pending, even a masked one (PRIMASK): that is what makes a
/// check-then-sleep with interrupts masked race-free.
inline void wait_for_interrupt() noexcept { asm volatile("dsb\n\twfi" ::: "memory"); }

// ---- the main stack's high-water mark ----------------------------------------------------------

/// Fills the unused part of the main stack (below the caller's frame, less a margin) with a
/// pattern; stack_used() finds how deep it was ever overwritten. Call first thing in main.
void paint_stack() noexcept;
std::uint32_t stack_used() noexcept;
std::uint32_t stack_size() noexcept;

}  // namespace pollstack::firmware
