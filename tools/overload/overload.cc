// overload: backpressure end to end, with real processes. Starts the rate-limited sink driver,
// then offers frames at twice its rate for a while. The sender never drops: when the channel is
// full its reservation is Pending and it waits, so it sends at the sink's rate. At the end every
// frame submitted must have been taken by the sink, in sequence, and memory must not have grown.
//   overload --sink PATH_TO_rate_limited_sink --rate PPS --seconds S [--udp | --style NAME]
// Without --udp the sender writes raw frames into the channel. With --udp it is an application
// sending numbered UDP datagrams through the whole stack (UDP, IPv4, ARP, Ethernet), so the
// Pending it sees has come up through every layer. (They go to the subnet's broadcast address:
// the sink answers no ARP.) With --style NAME (sync, state_machine, coroutine, arena_coroutine,
// boxed, callback: see benchmarks/full_path/variants.h) the sender is that style's UDP path, sending
// as fast as it can; each send waits in its own way while the channel is full, and the run reports
// datagrams per second and CPU time per datagram, waiting included. Exit status 0 only if nothing
// was lost.
//   overload --tcp --loopback PATH_TO_loopback_driver --rate FPS --seconds S
// With --tcp the driver is the loopback driver, rate-limited to FPS frames per second: the stack
// talks TCP to itself (tcp_flood.h), writing as fast as TCP takes the bytes for S seconds, and
// every byte must arrive, in order, with resident memory flat. The writer's Pending comes from the
// full send buffer, which drains only as the driver takes frames: the channel's backpressure,
// through TCP's windows, up to the application.
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <array>
#include <optional>
#include <string>
#include <variant>

#include "driver_channel/attach.h"
#include "driver_channel/io_loop.h"
#include "driver_channel/stack_channel.h"
#include "benchmarks/full_path/variants.h"
#include "driver_channel/stack.h"
#include "statemachines/by_ref.h"
#include "statemachines/executor.h"
#include "statemachines/hosted/steady_clock.h"
#include "statemachines/select.h"
#include "tools/overload/tcp_flood.h"

extern char** environ;

namespace pollstack::overload {
namespace {

using driver_channel::ChannelResult;
using driver_channel::StackChannel;
using driver_channel::TxBuffer;

constexpr const char* kProgram = "overload";

std::uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

// Resident memory of this process in KiB, from /proc/self/status ("VmRSS:").
long rss_kib() {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return -1;
  char line[256];
  long kib = -1;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
  }
  std::fclose(f);
  return kib;
}

[[noreturn]] void usage(const char* problem) {
  std::fprintf(stderr,
               "%s: %s\nusage: %s --sink PATH --rate PACKETS_PER_SECOND --seconds S [--udp | --style NAME]\n"
               "       %s --tcp --loopback PATH --rate FRAMES_PER_SECOND --seconds S\n",
               kProgram, problem, kProgram, kProgram);
  std::exit(2);
}

std::uint64_t positive(const char* flag, const char* value) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long n = std::strtoull(value, &end, 10);
  if (errno != 0 || end == value || *end != '\0' || n == 0 || value[0] == '-') {
    usage((std::string(flag) + " needs a positive whole number").c_str());
  }
  return n;
}

// Sends numbered frames on a schedule of `offered_pps` for `duration_ns`, then waits until the
// driver has taken every one. Pending whenever the channel has no room: that is the backpressure.
struct PacedSender {
  using Output = bool;  // false: the link went down

  StackChannel* channel;
  std::uint64_t offered_pps;
  std::uint64_t start_ns;
  std::uint64_t duration_ns;
  std::uint64_t sent = 0;
  long rss_after_warmup_kib = -1;
  std::optional<StackChannel::TxReservation> reserving;

  Poll<bool> poll(Context& cx) {
    for (int budget = 0; budget < 64; ++budget) {  // bounded work per poll
      const std::uint64_t elapsed = now_ns() - start_ns;
      if (rss_after_warmup_kib < 0 && elapsed > 1'000'000'000u) rss_after_warmup_kib = rss_kib();
      if (elapsed >= duration_ns) {
        if (channel->counters().tx_completed == channel->counters().tx_submitted) return true;
        break;  // draining: the sink still holds some
      }
      if (sent >= elapsed * offered_pps / 1'000'000'000u) break;  // ahead of the schedule
      if (!reserving) reserving.emplace(*channel);
      Poll<ChannelResult<TxBuffer>> p = reserving->poll(cx);
      if (p.is_pending()) return pending;  // channel full: the driver's doorbell will wake us
      reserving.reset();
      if (!p.value().ok()) return false;
      TxBuffer tx = std::move(p.value().value());
      const auto sequence = static_cast<std::uint32_t>(sent);
      std::memcpy(tx.bytes().data(), &sequence, sizeof sequence);
      if (!tx.submit(64)) return false;
      ++sent;
    }
    cx.waker().wake();  // time-driven: come back on the next loop turn
    return pending;
  }
};

// The UDP run's addresses: a private test subnet; datagrams go to its broadcast address.
constexpr net::InterfaceConfig kUdpInterface{{{2, 0, 0, 0, 0, 1}}, {{{10, 11, 0, 1}}, 24, {}, net::kDefaultTtl}};
constexpr net::UdpEndpoint kUdpDestination{wire::Ipv4Address{{10, 11, 0, 255}}, 9};
// Where the sequence number sits in each frame: the first payload byte of the UDP datagram.
constexpr std::size_t kUdpSequenceOffset = 14 + 20 + 8;

struct UdpProgress {
  std::uint64_t sent = 0;
  long rss_after_warmup_kib = -1;
};

// The same schedule as PacedSender, as an application: numbered datagrams through the socket.
struct PacedUdpSender {
  using Output = bool;  // false: a send failed

  net::Stack* stack;
  net::UdpSocketId socket;
  std::uint64_t offered_pps;
  std::uint64_t start_ns;
  std::uint64_t duration_ns;
  UdpProgress* progress;
  std::array<std::byte, 18> payload{};  // 14 + 20 + 8 + 18 = 60 bytes: the minimum Ethernet frame
  std::optional<net::UdpSend> sending;

  Poll<bool> poll(Context& cx) {
    for (int budget = 0; budget < 64; ++budget) {  // bounded work per poll
      const std::uint64_t elapsed = now_ns() - start_ns;
      if (progress->rss_after_warmup_kib < 0 && elapsed > 1'000'000'000u) progress->rss_after_warmup_kib = rss_kib();
      if (!sending) {
        const StackChannel& channel = stack->ethernet().channel();
        if (elapsed >= duration_ns) {
          if (channel.counters().tx_completed == channel.counters().tx_submitted) return true;
          break;  // draining: the sink still holds some
        }
        if (progress->sent >= elapsed * offered_pps / 1'000'000'000u) break;  // ahead of the schedule
        const auto sequence = static_cast<std::uint32_t>(progress->sent);
        std::memcpy(payload.data(), &sequence, sizeof sequence);
        sending.emplace(stack->udp().send_to(socket, kUdpDestination, payload));
      }
      Poll<net::Stack::UdpLayer::SendOutput> p = sending->poll(cx);
      if (p.is_pending()) return pending;  // the channel is full, and every layer says so
      sending.reset();
      if (!p.value().ok()) return false;
      ++progress->sent;
    }
    cx.waker().wake();  // time-driven: come back on the next loop turn
    return pending;
  }
};

double cpu_seconds() {
  rusage r{};
  getrusage(RUSAGE_SELF, &r);
  return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
         static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

// --style: one style's UDP path sends numbered datagrams as fast as it can; the sink's rate
// decides how fast they go. Returns the exit status.
int run_style(const full_path::Variant& style, driver_channel::SharedRegion region, driver_channel::Doorbell& driver_bell,
              driver_channel::Doorbell& stack_bell, int lifeline, pid_t sink_pid, std::uint64_t rate,
              std::uint64_t seconds) {
  // 18 bytes of payload: 60-byte frames, like --udp; the sequence number is the first 4.
  bench::UdpWorld world(18, {std::move(region), &driver_bell, &stack_bell, lifeline});
  std::printf("%s: style %s sends UDP as fast as it can for %" PRIu64 " s; the sink drains %" PRIu64 "/s\n",
              kProgram, style.name, seconds, rate);
  std::fflush(stdout);
  const double cpu_before = cpu_seconds();
  const std::uint64_t start = now_ns();
  std::uint64_t sent = 0;
  bool send_failed = false;
  while (now_ns() - start < seconds * 1'000'000'000u) {
    const auto sequence = static_cast<std::uint32_t>(sent);
    std::memcpy(world.mutable_payload().data(), &sequence, sizeof sequence);
    if (style.send(world) != 1) {
      send_failed = true;
      break;
    }
    ++sent;
  }
  const double sending_s = static_cast<double>(now_ns() - start) / 1e9;
  const driver_channel::ChannelCounters& c = world.channel().counters();
  while (world.channel().is_link_up() && c.tx_completed < c.tx_submitted) world.wait_for_driver();  // drain
  const double cpu = cpu_seconds() - cpu_before;
  close(lifeline);
  int status = 0;
  waitpid(sink_pid, &status, 0);
  const bool sink_clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  const std::uint64_t lost = c.tx_submitted - c.tx_completed + c.tx_dropped_link_down;
  // One line a script can read (tools/full_path_report.py --backpressure).
  std::printf("backpressure style=%s sent=%" PRIu64 " pps=%.0f cpu_ns_per_packet=%.0f pending=%" PRIu64
              " lost=%" PRIu64 "\n",
              style.name, sent, static_cast<double>(sent) / sending_s, cpu * 1e9 / static_cast<double>(sent ? sent : 1),
              c.tx_pending, lost);
  const bool ok = !send_failed && lost == 0 && sink_clean;
  std::printf("%s: %s\n", kProgram, ok ? "PASS: nothing lost" : "FAIL");
  return ok ? 0 : 1;
}

// The TCP run's address: the stack connects to its own listener through the loopback driver.
constexpr net::InterfaceConfig kTcpInterface{{{2, 0, 0, 0, 0, 1}}, {{{10, 12, 0, 1}}, 24, {}, net::kDefaultTtl,
                                                                      net::kMtu, /*accept_local=*/true}};
constexpr std::uint16_t kTcpPort = 9;  // discard: what the reading end does, after checking

// --tcp: TcpFlood through the rate-limited loopback driver. Returns the exit status.
int run_tcp(driver_channel::SharedRegion region, driver_channel::Doorbell& driver_bell,
            driver_channel::Doorbell& stack_bell, int lifeline, pid_t loopback_pid, std::uint64_t rate,
            std::uint64_t seconds) {
  StackChannel channel(region, &driver_bell);
  net::Stack stack(channel, kTcpInterface);  // 270 KiB (the TCP buffers): the main thread's 8 MiB stack holds it
  const Result<net::TcpListener, net::ListenError> listening = stack.tcp().listen(kTcpPort);
  if (!listening.ok()) {
    std::fprintf(stderr, "%s: cannot listen on TCP port %u\n", kProgram, kTcpPort);
    return 1;
  }
  TcpFlood flood(stack.tcp(), listening.value(), net::IpEndpoint{kTcpInterface.ip.address, kTcpPort},
                        std::chrono::seconds(seconds));
  std::printf("%s: the loopback driver takes %" PRIu64 " frames/s; a TCP connection to ourselves writes as fast"
              " as it can for %" PRIu64 " s\n",
              kProgram, rate, seconds);
  std::fflush(stdout);
  const double cpu_before = cpu_seconds();
  const std::uint64_t start = now_ns();
  long rss_after_warmup = -1;
  Executor tasks{stack.task(), by_ref(flood)};
  driver_channel::serve(tasks, channel, stack_bell, lifeline, [&] {
    if (rss_after_warmup < 0 && now_ns() - start > 1'000'000'000u) rss_after_warmup = rss_kib();
    return tasks.is_done(0) || tasks.is_done(1);
  });
  const bool passed = tasks.is_done(1) && tasks.output<1>().value();
  const double cpu = cpu_seconds() - cpu_before;
  const long rss_end = rss_kib();
  close(lifeline);  // detach: the loopback driver sees its lifeline close, prints its counters and exits
  int status = 0;
  waitpid(loopback_pid, &status, 0);
  const bool driver_clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;

  const net::TcpCounters& t = stack.tcp().counters();
  const driver_channel::ChannelCounters& c = channel.counters();
  const double writing_s = static_cast<double>(flood.writing_time().count()) / 1e6;
  const double transfer_s = static_cast<double>(flood.transfer_time().count()) / 1e6;
  std::printf("%s: written %" PRIu64 " bytes, read back in order %" PRIu64 " (%.2f MB/s over %.2f s; writing stopped"
              " after %.2f s)\n",
              kProgram, flood.written(), flood.verified(),
              transfer_s > 0 ? static_cast<double>(flood.verified()) / transfer_s / 1e6 : 0.0, transfer_s, writing_s);
  std::printf("%s: writes that returned Pending %" PRIu64 ", channel reservations that returned Pending %" PRIu64
              ", segments sent %" PRIu64 ", retransmission timeouts %" PRIu64 ", fast retransmits %" PRIu64
              ", frames the driver took %" PRIu64 " (%.0f/s), CPU %.0f ns per segment\n",
              kProgram, t.write_pending, c.tx_pending, t.segments_sent, t.retransmissions, t.fast_retransmits,
              c.tx_completed, transfer_s > 0 ? static_cast<double>(c.tx_completed) / transfer_s : 0.0,
              cpu * 1e9 / static_cast<double>(t.segments_sent ? t.segments_sent : 1));
  std::printf("%s: resident memory %ld KiB after 1 s, %ld KiB at the end; loopback driver %s\n", kProgram,
              rss_after_warmup, rss_end, driver_clean ? "exited cleanly" : "reported a problem");
  // One line a script can read.
  const std::string growth = rss_after_warmup < 0 ? "n/a" : std::to_string(rss_end - rss_after_warmup);
  std::printf("backpressure tcp bytes=%" PRIu64 " write_pending=%" PRIu64 " rss_growth_kib=%s lost=%" PRIu64 "\n",
              flood.verified(), t.write_pending, growth.c_str(), flood.written() - flood.verified());
  if (!passed) {
    std::printf("%s: the transfer failed: %s\n", kProgram,
                flood.failure() != nullptr ? flood.failure() : "the driver went away (link down)");
  }
  // Memory flat: nothing on the path allocates, so after the first second only stray pages (a
  // deeper stack frame) may appear; 256 KiB would be a whole connection's buffers many times over.
  const bool memory_flat = rss_after_warmup < 0 || rss_end - rss_after_warmup <= 256;
  const bool ok = passed && driver_clean && t.write_pending > 0 && memory_flat;
  std::printf("%s: %s\n", kProgram,
              ok                                 ? "PASS: nothing lost"
              : !memory_flat                     ? "FAIL: resident memory grew during the run"
              : passed && t.write_pending == 0 ? "FAIL: no write ever waited (the driver was not the bottleneck)"
                                                 : "FAIL");
  return ok ? 0 : 1;
}

int run(int argc, char** argv) {
  const char* sink = nullptr;
  std::uint64_t rate = 0;
  std::uint64_t seconds = 0;
  bool udp = false;
  bool tcp = false;
  const char* loopback = nullptr;
  const full_path::Variant* style = nullptr;
  for (int i = 1; i < argc; i += 2) {
    if (std::string(argv[i]) == "--udp" || std::string(argv[i]) == "--tcp") {
      (std::string(argv[i]) == "--udp" ? udp : tcp) = true;
      --i;  // a flag without a value
      continue;
    }
    if (i + 1 >= argc) usage((std::string("missing value after ") + argv[i]).c_str());
    const std::string flag = argv[i];
    if (flag == "--sink") {
      sink = argv[i + 1];
    } else if (flag == "--loopback") {
      loopback = argv[i + 1];
    } else if (flag == "--rate") {
      rate = positive("--rate", argv[i + 1]);
    } else if (flag == "--seconds") {
      seconds = positive("--seconds", argv[i + 1]);
    } else if (flag == "--style") {
      for (const full_path::Variant& v : full_path::variants()) {
        if (v.name == std::string(argv[i + 1])) style = &v;
      }
      if (style == nullptr) {
        usage("--style needs one of sync, state_machine, coroutine, arena_coroutine, boxed, callback");
      }
    } else {
      usage(("unknown argument " + flag).c_str());
    }
  }
  if (tcp) {
    if (udp || style != nullptr || sink != nullptr) usage("--tcp runs alone, over --loopback (not --sink, --udp or --style)");
    if (loopback == nullptr || rate == 0 || seconds == 0) usage("--tcp needs --loopback, --rate and --seconds");
  } else {
    if (loopback != nullptr) usage("--loopback goes with --tcp");
    if (sink == nullptr || rate == 0 || seconds == 0) usage("--sink, --rate and --seconds are required");
  }
  const char* driver = tcp ? loopback : sink;
  if (access(driver, X_OK) != 0) usage((std::string("cannot execute ") + driver).c_str());
  (void)rss_kib();  // its first call sets up stdio's file buffer: the later readings then measure only the run

  int error = 0;
  const std::string socket = "@pollstack-overload-" + std::to_string(getpid());
  std::optional<driver_channel::DriverListener> listener =
      driver_channel::DriverListener::listen(socket.c_str(), &error);
  std::optional<driver_channel::SharedRegion> region = driver_channel::SharedRegion::create(&error);
  driver_channel::Doorbell driver_bell;
  driver_channel::Doorbell stack_bell;
  if (!listener || !region || driver_bell.fd() < 0 || stack_bell.fd() < 0) {
    std::fprintf(stderr, "%s: cannot set up the channel: %s\n", kProgram, std::strerror(error));
    return 1;
  }

  const std::string rate_text = std::to_string(rate);
  const std::string offset_text = std::to_string(udp || style != nullptr ? kUdpSequenceOffset : 0);
  const char* sink_argv[] = {sink,         "--socket", socket.c_str(),      "--rate", rate_text.c_str(),
                             "--sequence-offset", offset_text.c_str(), nullptr};
  const char* loopback_argv[] = {loopback, "--socket", socket.c_str(), "--rate-limit", rate_text.c_str(), nullptr};
  pid_t sink_pid = -1;
  if (posix_spawn(&sink_pid, driver, nullptr, nullptr, const_cast<char**>(tcp ? loopback_argv : sink_argv),
                  environ) != 0) {
    std::fprintf(stderr, "%s: cannot start %s\n", kProgram, driver);
    return 1;
  }
  const int lifeline = listener->accept_driver(*region, driver_bell, stack_bell, 10000, &error);
  if (lifeline < 0) {
    std::fprintf(stderr, "%s: the sink did not attach: %s\n", kProgram, std::strerror(error));
    kill(sink_pid, SIGKILL);
    waitpid(sink_pid, nullptr, 0);
    return 1;
  }

  if (tcp) return run_tcp(std::move(*region), driver_bell, stack_bell, lifeline, sink_pid, rate, seconds);
  if (style != nullptr) {
    return run_style(*style, std::move(*region), driver_bell, stack_bell, lifeline, sink_pid, rate, seconds);
  }
  StackChannel channel(*region, &driver_bell);
  std::printf("%s: sink drains %" PRIu64 " packets/s; offering %" PRIu64 " %s/s for %" PRIu64 " s\n", kProgram,
              rate, 2 * rate, udp ? "UDP datagrams through the stack" : "raw frames", seconds);
  std::fflush(stdout);
  const std::uint64_t start = now_ns();
  PacedSender sender{&channel, 2 * rate, start, seconds * 1'000'000'000u, 0, -1, std::nullopt};
  bool link_stayed_up = false;
  std::uint64_t udp_send_errors = 0;
  std::uint64_t udp_send_pending = 0;
  if (udp) {
    // The whole stack: the application's sender beside the interface's receive task.
    net::Stack stack(channel, kUdpInterface);  // 270 KiB (the TCP buffers): the main thread's 8 MiB stack holds it
    const net::UdpSocketId socket = stack.udp().bind(0).value();
    UdpProgress progress;
    auto app = select(PacedUdpSender{&stack, socket, 2 * rate, start, seconds * 1'000'000'000u, &progress, {}, {}},
                      stack.task());
    auto done = driver_channel::run_with_channel(app, channel, stack_bell, lifeline);
    link_stayed_up = done.index() == 0 && std::get<0>(done);
    sender.sent = progress.sent;
    sender.rss_after_warmup_kib = progress.rss_after_warmup_kib;
    udp_send_errors = stack.udp().counters().send_errors.total();
    udp_send_pending = stack.udp().counters().send_pending;
    std::printf("%s: datagrams sent %" PRIu64 ", send polls that returned Pending %" PRIu64
                ", send errors %" PRIu64 "\n",
                kProgram, stack.udp().counters().datagrams_sent, udp_send_pending, udp_send_errors);
  } else {
    link_stayed_up = driver_channel::run_with_channel(sender, channel, stack_bell, lifeline);
  }
  const double elapsed_s = static_cast<double>(now_ns() - start) / 1e9;
  const long rss_end = rss_kib();

  close(lifeline);  // detach: the sink sees its lifeline close, prints its counters and exits
  int status = 0;
  waitpid(sink_pid, &status, 0);
  const bool sink_clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;

  const driver_channel::ChannelCounters& c = channel.counters();
  const std::uint64_t lost = c.tx_submitted - c.tx_completed + c.tx_dropped_link_down;
  std::printf(
      "%s: offered %" PRIu64 " (schedule), submitted %" PRIu64 ", taken by the sink %" PRIu64
      " (%.0f packets/s), lost %" PRIu64 "\n"
      "%s: reservations that returned Pending %" PRIu64 ", doorbells rung by the stack %" PRIu64
      ", descriptors rejected %" PRIu64 "\n"
      "%s: resident memory %ld KiB after 1 s, %ld KiB at the end; sink %s\n",
      kProgram, 2 * rate * seconds, c.tx_submitted, c.tx_completed, static_cast<double>(c.tx_completed) / elapsed_s,
      lost, kProgram, c.tx_pending, c.doorbells_rung, channel.ledger().counters().total_rejected(), kProgram,
      sender.rss_after_warmup_kib, rss_end, sink_clean ? "exited cleanly (no sequence gaps)" : "reported a problem");
  const bool memory_flat = sender.rss_after_warmup_kib < 0 || rss_end - sender.rss_after_warmup_kib <= 256;
  const bool ok = link_stayed_up && lost == 0 && sink_clean && udp_send_errors == 0 &&
                  channel.ledger().counters().total_rejected() == 0 && memory_flat;
  std::printf("%s: %s\n", kProgram,
              ok ? "PASS: nothing lost" : (!memory_flat ? "FAIL: resident memory grew during the run" : "FAIL"));
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace pollstack::overload

int main(int argc, char** argv) { return pollstack::overload::run(argc, argv); }
