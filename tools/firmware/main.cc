/// The firmware an embedder copies, for Arm's MPS2 board with a Cortex-M4 (QEMU's mps2-an386):
/// one network interface over the board's LAN9118 (tools/firmware/lan9118.h), answering ARP and
/// ping, with UDP and TCP echo (RFC 862) on port 7 and a status report on UDP port 9999
/// (status_service.h), an Executor polling them, a millisecond SysTick for time, and a sleep that
/// cannot miss a wake. No OS, no heap, no CMSIS header: the few core registers and instructions
/// needed are written out below. Startup (vector table, Reset_Handler) is in startup.cc.
///
/// Interrupts only set flags: the LAN9118's handler masks its line and notes it, SysTick counts
/// milliseconds. The stack runs in the main loop alone, so no protocol state is ever shared with
/// an interrupt handler (no locks, no critical sections in the stack), and the handlers stay a
/// few instructions long whatever the traffic.
///
/// The address comes from the build (tools/firmware/build.sh --address A.B.C.D/P --gateway G
/// --mac M): POLLSTACK_FIRMWARE_ADDRESS and friends below. Boot and exit messages go to the
/// semihosting console (semihosting.h: this image expects QEMU or a debugger).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>

#include "layers/config.h"
#include "layers/interface.h"
#include "layers/services/tcp_echo.h"
#include "layers/services/udp_echo.h"
#include "statemachines/by_ref.h"
#include "statemachines/clock.h"
#include "statemachines/executor.h"
#include "statemachines/state_machine.h"
#include "tools/firmware/lan9118.h"
#include "tools/firmware/semihosting.h"
#include "tools/firmware/status_service.h"

#ifndef POLLSTACK_FIRMWARE_ADDRESS
#define POLLSTACK_FIRMWARE_ADDRESS {10, 0, 0, 2}
#endif
#ifndef POLLSTACK_FIRMWARE_PREFIX
#define POLLSTACK_FIRMWARE_PREFIX 24
#endif
#ifndef POLLSTACK_FIRMWARE_GATEWAY
#define POLLSTACK_FIRMWARE_GATEWAY {0, 0, 0, 0}
#endif
#ifndef POLLSTACK_FIRMWARE_MAC
#define POLLSTACK_FIRMWARE_MAC {0x02, 0x00, 0x00, 0x00, 0x00, 0x02}
#endif

namespace pollstack::firmware {
namespace {

// ---- the stack's configuration, sized for the NIC ----------------------------------------------

/// Checked against the NIC by Interface at compile time: 2 sockets x 2 queued datagrams may hold
/// at most half of the LAN9118 driver's 8 receive buffers, and a 1514-byte frame fits its
/// 1536-byte ones.
struct SmallConfig : net::DefaultConfig {
  static constexpr std::size_t kUdpSockets = 2;  // echo, status
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

using Stack = net::Interface<Lan9118, SmallConfig>;
using Echo = net::UdpEchoService<Stack::UdpLayer>;
using TcpEcho = net::TcpEchoService<Stack::TcpLayer, 1>;  // one session: the two connections are its and a TIME-WAIT's
using Status = StatusService<Stack::UdpLayer>;

constexpr std::uint16_t kEchoPort = 7;
constexpr std::uint16_t kStatusPort = 9999;
constexpr net::InterfaceConfig kInterface{
    .mac = {POLLSTACK_FIRMWARE_MAC},
    .ip = {.address = {POLLSTACK_FIRMWARE_ADDRESS},
           .prefix_length = POLLSTACK_FIRMWARE_PREFIX,
           .gateway = {POLLSTACK_FIRMWARE_GATEWAY}},
};

// ---- the board ---------------------------------------------------------------------------------

constexpr std::uintptr_t kLan9118Base = 0x40200000;  // mps2-an385/an386/an500/an511
constexpr std::uint32_t kLan9118Irq = 13;
constexpr std::uint32_t kCoreHz = 25'000'000;  // mps2-an386's SYSCLK (QEMU models the same)

volatile std::uint32_t& nvic_iser0() { return *reinterpret_cast<volatile std::uint32_t*>(0xE000E100); }
volatile std::uint32_t& nvic_icer0() { return *reinterpret_cast<volatile std::uint32_t*>(0xE000E180); }
void mask_lan9118_irq() noexcept { nvic_icer0() = 1u << kLan9118Irq; }
void unmask_lan9118_irq() noexcept { nvic_iser0() = 1u << kLan9118Irq; }

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
  T* get() const noexcept { return object_; }  // null until emplaced (an interrupt may come first)

 private:
  alignas(T) std::byte bytes_[sizeof(T)];
  T* volatile object_ = nullptr;
};

// An Executor holds its tasks by value; the services cannot move (their operations point into
// their own buffers): the executor polls them where they live, through by_ref().
using App = Executor<Stack::Task, ByRef<Echo>, ByRef<TcpEcho>, ByRef<Status>>;
constexpr std::size_t kStatusTask = 3;

// Named so that `arm-none-eabi-nm --size-sort` shows what each costs (tools/firmware/build.sh).
StaticStorage<Lan9118> g_nic;
StaticStorage<Stack> g_stack;
StaticStorage<Echo> g_echo;
StaticStorage<TcpEcho> g_tcp_echo;
StaticStorage<Status> g_status;
StaticStorage<App> g_app;

// ---- time: SysTick every millisecond -----------------------------------------------------------

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

// ---- the stack's high-water mark ---------------------------------------------------------------

extern "C" std::uint32_t __stack_bottom[];  // from the linker script
extern "C" std::uint32_t __stack_top[];
constexpr std::uint32_t kStackPaint = 0x5741434b;

/// Fills the unused part of the main stack (below the current frame, less a margin) with a
/// pattern; stack_used() finds how deep it was ever overwritten.
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

// ---- the report (UDP port 9999, and the semihosting console at exit) ---------------------------

void report(TextOut& out) noexcept {
  const Lan9118& nic = *g_nic.get();
  const Lan9118Counters& n = nic.counters();
  Stack& stack = *g_stack.get();
  out << "pollstack firmware (Cortex-M4, LAN9118)\n"
      << "uptime_ms=" << std::uint64_t{g_milliseconds} << " stack_used=" << std::uint64_t{stack_used()} << "/"
      << std::uint64_t{static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(__stack_top) -
                                                  reinterpret_cast<std::uintptr_t>(__stack_bottom))}
      << "\n"
      << "nic: frames_sent=" << std::uint64_t{n.frames_sent} << " frames_received=" << std::uint64_t{n.frames_received}
      << " rx_errors=" << std::uint64_t{n.rx_errors} << " rx_oversize=" << std::uint64_t{n.rx_oversize}
      << " chip_rx_dropped=" << std::uint64_t{g_nic.get()->chip_rx_dropped()}
      << " tx_waited_for_fifo=" << std::uint64_t{n.tx_waited_for_fifo} << " interrupts=" << std::uint64_t{n.interrupts}
      << "\n"
      << "buffers: tx_free=" << std::uint64_t{nic.tx_buffers_free()} << "/" << std::uint64_t{Lan9118::kTxBuffers}
      << " rx_free=" << std::uint64_t{nic.rx_buffers_free()} << "/" << std::uint64_t{Lan9118::kRxBuffers} << "\n"
      << "icmp: echo_replies_sent=" << stack.icmp().counters().echo_replies_sent
      << " unreachables_sent=" << stack.icmp().counters().unreachables_sent << "\n"
      << "udp: datagrams_read=" << stack.udp().counters().datagrams_read
      << " datagrams_sent=" << stack.udp().counters().datagrams_sent
      << " echoed=" << g_echo.get()->counters().echoed << "\n"
      << "tcp: established=" << stack.tcp().counters().established
      << " segments_received=" << stack.tcp().counters().segments_received
      << " segments_sent=" << stack.tcp().counters().segments_sent
      << " retransmissions=" << stack.tcp().counters().retransmissions
      << " bytes_echoed=" << g_tcp_echo.get()->shared().bytes_echoed
      << " sessions_ended=" << g_tcp_echo.get()->shared().sessions_ended << "\n";
}

[[noreturn]] void stop(const char* why, std::uint32_t status) noexcept {
  semihosting::write(why);
  semihosting::exit(status);
}

}  // namespace

[[noreturn]] void run() noexcept {
  paint_stack();
  Lan9118& nic = g_nic.emplace(*reinterpret_cast<volatile Lan9118Registers*>(kLan9118Base),
                               Lan9118::InterruptLine{&mask_lan9118_irq, &unmask_lan9118_irq});
  if (nic.start(kInterface.mac.octets)) stop("pollstack firmware: the LAN9118 did not start\n", 1);
  Stack& stack = g_stack.emplace(nic, kInterface);
  const Result<net::UdpSocketId, net::BindError> echo_socket = stack.udp().bind(kEchoPort);
  const Result<net::UdpSocketId, net::BindError> status_socket = stack.udp().bind(kStatusPort);
  const Result<net::TcpListener, net::ListenError> listener = stack.tcp().listen(kEchoPort);
  if (!echo_socket.ok() || !status_socket.ok() || !listener.ok()) stop("pollstack firmware: no socket\n", 1);
  Echo& echo = g_echo.emplace(stack.udp(), echo_socket.value());
  TcpEcho& tcp_echo = g_tcp_echo.emplace(stack.tcp(), listener.value(), net::TcpEchoCounters{});
  Status& status = g_status.emplace(stack.udp(), status_socket.value(), &report);
  App& app = g_app.emplace(stack.task(), by_ref(echo), by_ref(tcp_echo), by_ref(status));
  semihosting::write("pollstack firmware: up; UDP and TCP echo on port 7, status on UDP port 9999\n");

  TickClock clock;
  start_systick();
  for (;;) {
    nic.service();  // frames in and out of the device; wakes the tasks waiting on them
    app.run_ready(clock.now());
    if (app.is_done(kStatusTask)) {
      // "exit" came to the status port: the report (already sent over UDP) to the console, then stop.
      static std::array<char, Status::kReportBytes> text;
      TextOut out(text);
      report(out);
      semihosting::write(out.c_str());
      stop("pollstack firmware: exit requested\n", app.output<kStatusTask>().value() ? 0 : 1);
    }
    if (app.all_done()) stop("pollstack firmware: every task ended\n", 1);

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

/// The LAN9118's interrupt (IRQ 13): masks its line and flags the main loop; nothing else.
extern "C" void Lan9118_IRQHandler() {
  if (pollstack::firmware::Lan9118* nic = pollstack::firmware::g_nic.get()) {
    nic->on_interrupt();
  } else {
    pollstack::firmware::mask_lan9118_irq();  // before start(): not ours yet
  }
}

int main() { pollstack::firmware::run(); }
