/// The firmware main loop an embedder copies: one network interface over a NIC, a UDP echo
/// service on port 7, an Executor polling both, a millisecond tick for time, and a sleep that
/// cannot miss a wake. Cortex-M4 (QEMU's mps2-an386 memory map, tools/firmware/mps2_an386.ld);
/// no OS, no heap, no CMSIS header: the few core registers and instructions needed are written
/// out below. Startup (vector table, Reset_Handler) is in startup.cc.
///
/// The NIC is tools/firmware/example_nic.h: an example over fake registers, not a driver. With a
/// real device, replace FakeMac/ExampleNic by its driver and call its on_interrupt() from the
/// device's interrupt handler; nothing else here changes.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>

#include "layers/config.h"
#include "layers/interface.h"
#include "layers/services/udp_echo.h"
#include "statemachines/by_ref.h"
#include "statemachines/clock.h"
#include "statemachines/executor.h"
#include "statemachines/state_machine.h"
#include "tools/firmware/example_nic.h"

namespace pollstack::firmware {
namespace {

// ---- the stack's configuration, sized for the NIC ----------------------------------------------

/// Checked against the NIC by Interface at compile time: 2 sockets x 2 queued datagrams may hold
/// at most half of ExampleNic's 8 receive buffers, and a 1514-byte frame fits its 1536-byte ones.
struct SmallConfig : net::DefaultConfig {
  static constexpr std::size_t kUdpSockets = 2;
  static constexpr std::size_t kUdpReceiveQueueDepth = 2;
  static constexpr std::size_t kNeighbourCacheEntries = 4;
  static constexpr std::size_t kRxFramesPerPoll = 8;  // = the NIC's receive buffers
  // TCP: two connections with 2 KiB each way (the window we offer is our receive buffer).
  static constexpr std::size_t kTcpConnections = 2;
  static constexpr std::size_t kTcpListeners = 1;
  static constexpr std::size_t kTcpBacklog = 1;
  static constexpr std::size_t kTcpSendBufferBytes = 2048;
  static constexpr std::size_t kTcpReceiveBufferBytes = 2048;
};

using Stack = net::Interface<ExampleNic, SmallConfig>;
using Echo = net::UdpEchoService<Stack::UdpLayer>;

constexpr std::uint16_t kEchoPort = 7;
constexpr net::InterfaceConfig kInterface{
    .mac = {{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}},  // locally administered
    .ip = {.address = {{10, 0, 0, 2}}, .prefix_length = 24, .gateway = {{10, 0, 0, 1}}},
};

// ---- static storage, constructed in main(), never destroyed ------------------------------------

/// Room for one T in .bss, constructed once at run time. Never destroyed: firmware does not exit,
/// so no destructor is registered (no atexit table, no __cxa_atexit) and nothing is allocated.
template <class T>
class StaticStorage {
 public:
  template <class... Args>
  T& emplace(Args&&... args) noexcept {
    return *::new (static_cast<void*>(bytes_)) T(std::forward<Args>(args)...);
  }

 private:
  alignas(T) std::byte bytes_[sizeof(T)];
};

// An Executor holds its tasks by value, and UdpEchoService cannot move (its operations point
// into its own buffer): the executor polls it where it lives, through by_ref().
using App = Executor<Stack::Task, ByRef<Echo>>;

// Named so that `arm-none-eabi-nm --size-sort` shows what each costs (tools/firmware/build.sh).
StaticStorage<FakeMac> g_mac;
StaticStorage<ExampleNic> g_nic;
StaticStorage<Stack> g_stack;
StaticStorage<Echo> g_echo;
StaticStorage<App> g_app;

// ---- time: SysTick every millisecond -----------------------------------------------------------

constexpr std::uint32_t kCoreHz = 25'000'000;  // mps2-an386's SYSCLK (QEMU models the same)

/// Milliseconds since start. Written only by SysTick_Handler; a 32-bit load or store is atomic
/// on Cortex-M, so readers need no lock.
volatile std::uint32_t g_milliseconds = 0;

struct SysTickRegisters {
  std::uint32_t csr;  // 0xE000E010 control and status
  std::uint32_t rvr;  // 0xE000E014 reload value
  std::uint32_t cvr;  // 0xE000E018 current value
};

void start_systick() noexcept {
  volatile SysTickRegisters& systick = *reinterpret_cast<volatile SysTickRegisters*>(0xE000E010);
  systick.rvr = kCoreHz / 1000 - 1;
  systick.cvr = 0;
  systick.csr = 0b111;  // processor clock, interrupt on, counter on
}

/// The stack's clock over the 32-bit millisecond tick: a monotonic 64-bit Instant in
/// microseconds. The tick wraps every 2^32 ms (49.7 days); now() counts the wraps, which needs
/// it to be called at least once per wrap: the sleep loop below calls it on every tick.
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

// ---- sleeping: the core's own instructions, no CMSIS -------------------------------------------

inline void disable_interrupts() noexcept { asm volatile("cpsid i" ::: "memory"); }
inline void enable_interrupts() noexcept { asm volatile("cpsie i" ::: "memory"); }
/// Sleeps until an interrupt is pending, even a masked one (PRIMASK): that is what makes the
/// check-then-sleep below race-free.
inline void wait_for_interrupt() noexcept { asm volatile("dsb\n\twfi" ::: "memory"); }

[[noreturn]] void halt() noexcept {
  disable_interrupts();
  for (;;) wait_for_interrupt();
}

}  // namespace

[[noreturn]] void run() noexcept {
  FakeMac& mac = g_mac.emplace();
  ExampleNic& nic = g_nic.emplace(mac);
  Stack& stack = g_stack.emplace(nic, kInterface);
  const Result<net::UdpSocketId, net::BindError> socket = stack.udp().bind(kEchoPort);
  if (!socket.ok()) halt();  // cannot happen: the socket table is empty
  Echo& echo = g_echo.emplace(stack.udp(), socket.value());
  App& app = g_app.emplace(stack.task(), by_ref(echo));

  TickClock clock;
  start_systick();
  for (;;) {
    nic.service();  // frames in and out of the device; wakes the tasks waiting on them
    app.run_ready(clock.now());
    if (app.all_done()) halt();  // the link went down and the echo socket failed: not with this NIC

    // Sleep until a task is woken, the device has work, or the earliest deadline comes. The
    // check runs with interrupts masked: an interrupt arriving after it is still pending at
    // `wfi`, which then returns at once, and its handler runs at `cpsie`. Every SysTick ends a
    // `wfi`, so deadlines are met to the millisecond and the clock sees every tick wrap.
    const Instant deadline = app.next_deadline();
    for (;;) {
      disable_interrupts();
      const bool idle = !app.has_woken() && !nic.has_work() && clock.now() < deadline;
      if (idle) wait_for_interrupt();
      enable_interrupts();
      if (!idle) break;
    }
  }
}

}  // namespace pollstack::firmware

extern "C" void SysTick_Handler() {
  pollstack::firmware::g_milliseconds = pollstack::firmware::g_milliseconds + 1;
}

int main() { pollstack::firmware::run(); }
