/// The firmware an embedder copies, for Arm's MPS2 board with a Cortex-M4 (QEMU's mps2-an386):
/// one network interface over the board's LAN9118 (tools/firmware/lan9118.h), answering ARP and
/// ping, with UDP and TCP echo (RFC 862) on port 7 and a status report on UDP port 9999
/// (status_service.h), an Executor polling them, a millisecond SysTick for time, and a sleep that
/// cannot miss a wake. No OS, no heap, no CMSIS header: the few core registers and instructions
/// needed are in board.h. Startup (vector table, Reset_Handler) is in startup.cc.
///
/// Interrupts only set flags (board.cc): the LAN9118's handler masks its line and notes it,
/// SysTick counts milliseconds. The stack runs in the main loop alone, so no protocol state is
/// ever shared with an interrupt handler (no locks, no critical sections in the stack), and the
/// handlers stay a few instructions long whatever the traffic.
///
/// The address comes from the build: POLLSTACK_FIRMWARE_ADDRESS and friends below, e.g.
/// `tools/firmware/build.sh -- --copt=-DPOLLSTACK_FIRMWARE_ADDRESS='{192,168,1,50}'`. Boot and
/// exit messages go to the semihosting console (semihosting.h: this image expects QEMU or a
/// debugger; POLLSTACK_FIRMWARE_TEST_HOOKS=0 builds one that does not).

#include <array>
#include <cstddef>
#include <cstdint>

#include "layers/config.h"
#include "layers/interface.h"
#include "layers/services/tcp_echo.h"
#include "layers/services/udp_echo.h"
#include "statemachines/by_ref.h"
#include "statemachines/executor.h"
#include "tools/firmware/board.h"
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
// 0: the UDP feature set alone (ARP, ICMP, UDP echo, status): TCP is left out of the interface
// (SmallConfig::kTcpConnections = 0) and no TCP service runs. The //tools/firmware:pollstack_firmware_udp
// target builds it, for the size report.
#ifndef POLLSTACK_FIRMWARE_TCP
#define POLLSTACK_FIRMWARE_TCP 1
#endif
// 1 (the default): the image is for QEMU or a board under a debugger: boot and exit messages go
// to the semihosting console, and "exit" on the status port stops it (the QEMU test's end). 0 for
// a board on its own: semihosting without a debugger stops the core, and nobody on the network
// may stop the firmware.
#ifndef POLLSTACK_FIRMWARE_TEST_HOOKS
#define POLLSTACK_FIRMWARE_TEST_HOOKS 1
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
  // TCP: two connections with 2 KiB each way (the window we offer is our receive buffer); none
  // in the UDP-only build.
  static constexpr std::size_t kTcpConnections = POLLSTACK_FIRMWARE_TCP ? 2 : 0;
  static constexpr std::size_t kTcpListeners = 1;
  static constexpr std::size_t kTcpBacklog = 1;
  static constexpr std::size_t kTcpSendBufferBytes = 2048;
  static constexpr std::size_t kTcpReceiveBufferBytes = 2048;
};

using Stack = net::Interface<Lan9118, SmallConfig>;
using Echo = net::UdpEchoService<Stack::UdpLayer>;
using Status = StatusService<Stack::UdpLayer>;
#if POLLSTACK_FIRMWARE_TCP
using TcpEcho = net::TcpEchoService<Stack::TcpLayer, 1>;  // one session: the two connections are its and a TIME-WAIT's
#endif

constexpr std::uint16_t kEchoPort = 7;
constexpr std::uint16_t kStatusPort = 9999;
constexpr net::InterfaceConfig kInterface{
    .mac = {POLLSTACK_FIRMWARE_MAC},
    .ip = {.address = {POLLSTACK_FIRMWARE_ADDRESS},
           .prefix_length = POLLSTACK_FIRMWARE_PREFIX,
           .gateway = {POLLSTACK_FIRMWARE_GATEWAY}},
};

// An Executor holds its tasks by value; the services cannot move (their operations point into
// their own buffers): the executor polls them where they live, through by_ref().
#if POLLSTACK_FIRMWARE_TCP
using App = Executor<Stack::Task, ByRef<Echo>, ByRef<Status>, ByRef<TcpEcho>>;
#else
using App = Executor<Stack::Task, ByRef<Echo>, ByRef<Status>>;
#endif
constexpr std::size_t kStatusTask = 2;

// Named so that `arm-none-eabi-nm --size-sort` shows what each costs (tools/firmware/build.sh).
StaticStorage<Lan9118> g_nic;
StaticStorage<Stack> g_stack;
StaticStorage<Echo> g_echo;
StaticStorage<Status> g_status;
StaticStorage<App> g_app;
#if POLLSTACK_FIRMWARE_TCP
StaticStorage<TcpEcho> g_tcp_echo;
#endif

// ---- the report (UDP port 9999, and the semihosting console at exit) ---------------------------

void report(TextOut& out) noexcept {
  const Lan9118& nic = *g_nic.get();
  const Lan9118Counters& n = nic.counters();
  Stack& stack = *g_stack.get();
  out << "pollstack firmware (MPS2, LAN9118)\n"
      << "uptime_ms=" << std::uint64_t{g_milliseconds} << " stack_used=" << std::uint64_t{stack_used()} << "/"
      << std::uint64_t{stack_size()} << "\n"
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
      << " echoed=" << g_echo.get()->counters().echoed << "\n";
#if POLLSTACK_FIRMWARE_TCP
  out << "tcp: established=" << stack.tcp().counters().established
      << " segments_received=" << stack.tcp().counters().segments_received
      << " segments_sent=" << stack.tcp().counters().segments_sent
      << " retransmissions=" << stack.tcp().counters().retransmissions
      << " bytes_echoed=" << g_tcp_echo.get()->shared().bytes_echoed
      << " sessions_ended=" << g_tcp_echo.get()->shared().sessions_ended << "\n";
#endif
}

void say(const char* text) noexcept {
  if constexpr (POLLSTACK_FIRMWARE_TEST_HOOKS) semihosting::write(text);
}

[[noreturn]] void stop(const char* why, std::uint32_t status) noexcept {
  say(why);
  if constexpr (POLLSTACK_FIRMWARE_TEST_HOOKS) semihosting::exit(status);
  disable_interrupts();  // a product would let its watchdog reset it
  for (;;) wait_for_interrupt();
}

}  // namespace

[[noreturn]] void run() noexcept {
  paint_stack();
  Lan9118& nic = g_nic.emplace(lan9118_registers(), kLan9118Line);
  route_lan9118_interrupt(nic);
  if (nic.start(kInterface.mac.octets)) stop("pollstack firmware: the LAN9118 did not start\n", 1);
  Stack& stack = g_stack.emplace(nic, kInterface);
  const Result<net::UdpSocketId, net::BindError> echo_socket = stack.udp().bind(kEchoPort);
  const Result<net::UdpSocketId, net::BindError> status_socket = stack.udp().bind(kStatusPort);
  if (!echo_socket.ok() || !status_socket.ok()) stop("pollstack firmware: no socket\n", 1);
  Echo& echo = g_echo.emplace(stack.udp(), echo_socket.value());
  Status& status = g_status.emplace(stack.udp(), status_socket.value(), &report, POLLSTACK_FIRMWARE_TEST_HOOKS != 0);
#if POLLSTACK_FIRMWARE_TCP
  const Result<net::TcpListener, net::ListenError> listener = stack.tcp().listen(kEchoPort);
  if (!listener.ok()) stop("pollstack firmware: no listener\n", 1);
  TcpEcho& tcp_echo = g_tcp_echo.emplace(stack.tcp(), listener.value(), net::TcpEchoCounters{});
  App& app = g_app.emplace(stack.task(), by_ref(echo), by_ref(status), by_ref(tcp_echo));
  say("pollstack firmware: up; UDP and TCP echo on port 7, status on UDP port 9999\n");
#else
  App& app = g_app.emplace(stack.task(), by_ref(echo), by_ref(status));
  say("pollstack firmware: up (UDP only); UDP echo on port 7, status on UDP port 9999\n");
#endif

  TickClock clock;
  start_systick();
  for (;;) {
    nic.service();  // frames in and out of the device; wakes the tasks waiting on them
    app.run_ready(clock.now());
    if (app.is_done(kStatusTask)) {
      // "exit" came to the status port (true), or its socket failed (false): the report (already
      // sent over UDP if asked for) to the console, then stop.
      static std::array<char, Status::kReportBytes> text;
      TextOut out(text);
      report(out);
      say(out.c_str());
      const bool asked = app.output<kStatusTask>().value();
      stop(asked ? "pollstack firmware: exit requested\n" : "pollstack firmware: the status socket failed\n",
           asked ? 0 : 1);
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

int main() { pollstack::firmware::run(); }
