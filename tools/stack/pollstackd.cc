// pollstackd: the stack as a program. Listens for a driver process (TAP, loopback, pcap...),
// then serves echo (RFC 862) and discard (RFC 863) over UDP and TCP, an HTTP page of its
// counters (GET /) and an iperf3 server (port 5201: `iperf3 -c ADDRESS [-R]` measures the
// stack), and answers ARP and ping, until it is told to stop (SIGINT/SIGTERM) or the
// driver goes away. Prints every counter on exit and on SIGUSR1. A port of 0 turns a service off.
//
//   pollstackd --socket NAME --address A.B.C.D/PREFIX [--gateway A.B.C.D] [--mac XX:XX:XX:XX:XX:XX]
//              [--mtu BYTES] [--echo-port PORT] [--discard-port PORT] [--http-port PORT] [--iperf3-port PORT]
//              [--tcp-client A.B.C.D:PORT [--tcp-client-bytes N]]
//              [--attach-timeout SECONDS] [--self-test] [--pcap FILE]
//              [--driver PROGRAM [--driver-arg ARG]...]
//
// TCP buffers: 256 KiB to send and 1 MiB to receive per connection (tools/stack/host_stack.h:
// a host's sizes; the product default is 16 KiB).
//
// NAME is where drivers attach (a path, or @name for an abstract socket). Start the driver with
// the same --socket, or let pollstackd start it: --driver PROGRAM runs
// `PROGRAM --socket NAME ARG...` once it listens (e.g. --driver tap_driver --driver-arg --tap
// --driver-arg tap0), and waits for it on exit. --self-test: once a driver is attached, ping our own address, send UDP to our
// own echo service and to a closed port, then TCP to our own echo service, print each outcome and
// stop; over the loopback driver this exercises ARP, ICMP, UDP and TCP end to end across two
// processes. --tcp-client: once a driver is attached, connect to that echo server (retrying for
// 30 s while it is not there yet), send it N bytes (default 1 MiB) with a half-close, check the
// echo byte for byte, print the outcome, and go on serving. --pcap: every frame the stack takes
// from the driver and hands to it goes into FILE (pcap, nanosecond timestamps), written by a
// thread of its own through a fixed 8 MiB ring; frames the disk could not keep up with are dropped
// from the capture (never from the link) and counted on exit. Exit status: 0 after a clean stop
// (and a passed self-test), 1 if the setup, the self-test or the capture failed, 2 for bad
// arguments.
#include <arpa/inet.h>
#include <signal.h>
#include <spawn.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "driver_channel/attach.h"
#include "driver_channel/io_loop.h"
#include "driver_channel/stack.h"
#include "layers/services/http_server.h"
#include "layers/services/iperf3_server.h"
#include "layers/services/tcp_discard.h"
#include "layers/services/tcp_echo.h"
#include "layers/services/udp_discard.h"
#include "layers/services/udp_echo.h"
#include "statemachines/executor.h"
#include "statemachines/state_cell.h"
#include "tools/pcap/capture.h"
#include "tools/stack/report.h"
#include "tools/stack/tcp_echo_check.h"

extern char** environ;

namespace pollstack::tools {
namespace {

constexpr const char* kProgram = "pollstackd";
using Udp = HostStack::UdpLayer;
using Tcp = HostStack::TcpLayer;
using TcpEcho = net::TcpEchoService<Tcp, net::kTcpConnections>;
using TcpDiscard = net::TcpDiscardService<Tcp, net::kTcpConnections>;
using Http = net::HttpServer<Tcp, 4>;
// Up to 4 parallel streams (iperf3 -P 4): with the control connection, 5 of the 8 TCP slots.
using Iperf3 = net::Iperf3Server<Tcp, 4>;

// The HTTP page: every counter of the stack, as SIGUSR1 prints them.
std::size_t counters_page(void* stack, std::span<char> out) {
  return format_stack_counters(out, *static_cast<HostStack*>(stack));
}

volatile std::sig_atomic_t g_stop = 0;
volatile std::sig_atomic_t g_report = 0;

[[noreturn]] void usage(const std::string& problem) {
  std::fprintf(stderr,
               "%s: %s\nusage: %s --socket NAME --address A.B.C.D/PREFIX [--gateway A.B.C.D]\n"
               "       [--mac XX:XX:XX:XX:XX:XX] [--mtu BYTES] [--echo-port PORT] [--discard-port PORT] [--http-port PORT]\n"
               "       [--iperf3-port PORT]\n"
               "       [--tcp-client A.B.C.D:PORT [--tcp-client-bytes N]]\n"
               "       [--attach-timeout SECONDS] [--self-test] [--pcap FILE] [--driver PROGRAM [--driver-arg ARG]...]\n",
               kProgram, problem.c_str(), kProgram);
  std::exit(2);
}

std::uint64_t whole_number(const std::string& flag, const char* text, std::uint64_t low, std::uint64_t high) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long n = std::strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || n < low || n > high) {
    usage(flag + " needs a whole number from " + std::to_string(low) + " to " + std::to_string(high) + ", not '" +
          text + "'");
  }
  return n;
}

wire::Ipv4Address ipv4_address(const std::string& flag, const std::string& text) {
  in_addr a{};
  if (inet_pton(AF_INET, text.c_str(), &a) != 1) usage(flag + " needs an IPv4 address like 10.0.0.2, not '" + text + "'");
  return wire::Ipv4Address::from_u32(ntohl(a.s_addr));
}

wire::MacAddress mac_address(const char* text) {
  wire::MacAddress mac;
  unsigned v[6];
  char extra = 0;
  if (std::sscanf(text, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &extra) != 6 ||
      std::strlen(text) != 17) {
    usage(std::string("--mac needs six hex bytes like 02:00:00:00:00:01, not '") + text + "'");
  }
  for (int i = 0; i < 6; ++i) mac.octets[i] = static_cast<std::uint8_t>(v[i]);
  if ((mac.octets[0] & 1) != 0) usage("--mac must be a unicast address (the first byte even)");
  if (mac == wire::MacAddress{}) usage("--mac must not be all zeros");
  return mac;
}

struct Options {
  std::string socket;
  net::InterfaceConfig interface{{{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}}, {}};
  std::uint16_t echo_port = 7;
  std::uint16_t discard_port = 9;
  std::uint16_t http_port = 80;
  std::uint16_t iperf3_port = net::iperf3::kDefaultPort;
  std::optional<net::IpEndpoint> tcp_client;  // --tcp-client: an echo server to check against
  std::uint64_t tcp_client_bytes = 1 << 20;
  int attach_timeout_s = 30;
  bool self_test = false;
  std::string pcap;                      // --pcap: a capture file, or empty
  std::string driver;                    // a driver program to start, or empty
  std::vector<std::string> driver_args;  // its arguments after --socket NAME
};

Options parse(int argc, char** argv) {
  Options o;
  bool have_address = false;
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "-h" || flag == "--help") usage("help");
    if (flag == "--self-test") {
      o.self_test = true;
      --i;  // a flag without a value
      continue;
    }
    if (i + 1 >= argc) usage("missing value after " + flag);
    const char* value = argv[i + 1];
    if (flag == "--socket") {
      o.socket = value;
    } else if (flag == "--address") {
      const std::string text = value;
      const std::size_t slash = text.find('/');
      if (slash == std::string::npos) usage("--address needs A.B.C.D/PREFIX, e.g. 10.0.0.2/24");
      o.interface.ip.address = ipv4_address("--address", text.substr(0, slash));
      o.interface.ip.prefix_length =
          static_cast<std::uint8_t>(whole_number("--address prefix", text.c_str() + slash + 1, 1, 32));
      have_address = true;
    } else if (flag == "--gateway") {
      o.interface.ip.gateway = ipv4_address(flag, value);
    } else if (flag == "--mac") {
      o.interface.mac = mac_address(value);
    } else if (flag == "--mtu") {
      o.interface.ip.mtu = static_cast<std::uint16_t>(whole_number(flag, value, net::kMinimumMtu, net::kMtu));
    } else if (flag == "--echo-port") {
      o.echo_port = static_cast<std::uint16_t>(whole_number(flag, value, 0, 65535));
    } else if (flag == "--discard-port") {
      o.discard_port = static_cast<std::uint16_t>(whole_number(flag, value, 0, 65535));
    } else if (flag == "--http-port") {
      o.http_port = static_cast<std::uint16_t>(whole_number(flag, value, 0, 65535));
    } else if (flag == "--iperf3-port") {
      o.iperf3_port = static_cast<std::uint16_t>(whole_number(flag, value, 0, 65535));
    } else if (flag == "--tcp-client") {
      const std::string text = value;
      const std::size_t colon = text.find(':');
      if (colon == std::string::npos) usage("--tcp-client needs A.B.C.D:PORT, e.g. 10.0.0.1:7");
      o.tcp_client = net::IpEndpoint{ipv4_address(flag, text.substr(0, colon)),
                                     static_cast<std::uint16_t>(whole_number(flag, text.c_str() + colon + 1, 1, 65535))};
    } else if (flag == "--tcp-client-bytes") {
      o.tcp_client_bytes = whole_number(flag, value, 1, std::uint64_t{1} << 34);
    } else if (flag == "--driver") {
      if (access(value, X_OK) != 0) usage(std::string("--driver: cannot execute '") + value + "'");
      o.driver = value;
    } else if (flag == "--driver-arg") {
      o.driver_args.emplace_back(value);
    } else if (flag == "--pcap") {
      if (*value == '\0') usage("--pcap needs a file name");
      o.pcap = value;
    } else if (flag == "--attach-timeout") {
      o.attach_timeout_s = static_cast<int>(whole_number(flag, value, 1, 3600));
    } else {
      usage("unknown argument " + flag);
    }
  }
  if (o.socket.empty()) usage("--socket is required");
  if (!have_address) usage("--address is required");
  // The stack's own rules (Ipv4Config::check), worded for the command line. The MTU's range is
  // checked as it is parsed.
  if (const std::optional<net::Ipv4ConfigError> error = o.interface.ip.check()) {
    switch (*error) {
      case net::Ipv4ConfigError::kNotUnicast: usage("--address must be a unicast host address");
      case net::Ipv4ConfigError::kGatewayOffLink: usage("--gateway must be on the interface's subnet");
      case net::Ipv4ConfigError::kBadPrefix: usage("--address prefix must be 1..32");
      case net::Ipv4ConfigError::kMtuOutOfRange: usage("--mtu out of range");
    }
  }
  if (o.echo_port != 0 && o.echo_port == o.discard_port) usage("--echo-port and --discard-port must differ");
  if (o.http_port != 0 && o.http_port == o.echo_port) usage("--http-port and --echo-port must differ");
  if (o.http_port != 0 && o.http_port == o.discard_port) usage("--http-port and --discard-port must differ");
  if (o.iperf3_port != 0 && (o.iperf3_port == o.echo_port || o.iperf3_port == o.discard_port || o.iperf3_port == o.http_port)) {
    usage("--iperf3-port must differ from the echo, discard and HTTP ports");
  }
  if (o.self_test && o.echo_port == 0) usage("--self-test needs the echo service (--echo-port not 0)");
  // The self-test talks to our own address through a driver that reflects our frames (loopback):
  // our own source address is then expected, not a martian (Linux: accept_local).
  o.interface.ip.accept_local = o.self_test;
  if (o.driver.empty() && !o.driver_args.empty()) usage("--driver-arg needs --driver");
  if (!o.tcp_client && o.tcp_client_bytes != (1 << 20)) usage("--tcp-client-bytes needs --tcp-client");
  return o;
}

// --self-test, as an application task: ping our own address, UDP to our own echo service, UDP to
// a closed port. Prints each outcome. Output: whether all three did what they should.
class SelfTest {
 public:
  using Output = bool;
  static constexpr std::uint16_t kClosedPort = 4444;
  static constexpr std::uint16_t kPingId = 0x5e1f;

  SelfTest(HostStack& stack, std::uint16_t echo_port)
      : stack_(&stack), echo_port_(echo_port), socket_(stack.udp().bind(0).value()) {
    for (std::size_t i = 0; i < out_.size(); ++i) out_[i] = static_cast<std::byte>(i * 7 + 3);
  }
  SelfTest(SelfTest&&) = delete;  // its operations point into its own buffers

  Poll<bool> poll(Context& cx) {
    state_.expect_pollable();
    const wire::Ipv4Address self = stack_->ipv4().config().address;
    for (;;) {
      switch (state_.get()) {
        case State::Ping: {
          if (!ping_) {
            pong_.emplace(stack_->icmp().receive_echo_reply(kPingId));
            ping_.emplace(stack_->icmp().ping(self, kPingId, 1, std::span(out_).first(56)));
          }
          if (!ping_done_) {
            Poll<Result<std::size_t, net::SendError>> sent = ping_->poll(cx);
            if (sent.is_pending()) return pending;
            ping_done_ = true;
            if (!sent.value().ok()) return finish(false, "ping: the echo request was not sent");
          }
          if (pong_->poll(cx).is_pending()) return pending;
          report(true, "ping of our own address: ARP resolved it, the echo reply came back");
          state_.set(State::Echo);
          break;
        }
        case State::Echo:
          if (Poll<bool> done = exchange(cx, echo_port_, sizes_[size_index_]); done.is_pending()) {
            return pending;
          } else if (!done.value()) {
            return finish(false, "UDP echo: a datagram did not come back intact");
          }
          if (++size_index_ < sizes_.size()) break;
          report(true, "UDP echo: datagrams of 1, 64, 512 and 1472 bytes came back byte for byte");
          state_.set(State::ClosedPort);
          break;
        case State::ClosedPort: {
          Poll<bool> done = exchange(cx, kClosedPort, 32);
          if (done.is_pending()) return pending;
          const bool refused = !done.value() && refused_;
          if (!refused) return finish(false, "UDP to a closed port: no port unreachable came back");
          report(true, "UDP to a closed port: ICMP port unreachable, reported to our socket");
          tcp_.emplace(stack_->tcp(), net::IpEndpoint{self, echo_port_}, kTcpBytes, std::chrono::seconds(0));
          state_.set(State::Tcp);
          break;
        }
        case State::Tcp: {
          Poll<bool> done = tcp_->poll(cx);
          if (done.is_pending()) return pending;
          tcp_->print(stdout, kProgram, "self-test: TCP echo");
          return finish(done.value(), done.value() ? "TCP: connected to our own echo service, 256 KiB back intact"
                                                   : "TCP echo failed");
        }
        case State::Done:
          return false;  // polled after Ready: expect_pollable() aborts first in debug builds
      }
    }
  }

 private:
  enum class State : std::uint8_t { Ping, Echo, ClosedPort, Tcp, Done };
  static constexpr auto kTransitions = transitions(State::Ping, {
      {State::Ping, State::Echo, "our echo reply came back"},
      {State::Echo, State::ClosedPort, "every size echoed"},
      {State::ClosedPort, State::Tcp, "port unreachable reported"},
      {State::Tcp, State::Done, "TCP echo checked"},
      {State::Ping, State::Done, "a failure"},
      {State::Echo, State::Done, "a failure"},
      {State::ClosedPort, State::Done, "a failure"},
  });
  static constexpr std::size_t kTcpBytes = 256 * 1024;

  // The last report: the self-test is over, passed or not.
  bool finish(bool ok, const char* what) {
    state_.set(State::Done);
    return report(ok, what);
  }

  bool report(bool ok, const char* what) {
    std::printf("%s: self-test: %s %s\n", kProgram, ok ? "ok  " : "FAIL", what);
    std::fflush(stdout);
    return ok;
  }

  // Sends `size` bytes to our own `port` and waits for the answer: Ready(true) if it came back
  // intact, Ready(false) otherwise (refused_ tells whether it was a port unreachable).
  Poll<bool> exchange(Context& cx, std::uint16_t port, std::size_t size) {
    if (!send_ && !receive_) {
      send_.emplace(stack_->udp().send_to(socket_, {stack_->ipv4().config().address, port}, std::span(out_).first(size)));
    }
    if (send_) {
      Poll<Udp::SendOutput> sent = send_->poll(cx);
      if (sent.is_pending()) return pending;
      send_.reset();
      if (!sent.value().ok()) return false;
      receive_.emplace(stack_->udp().recv_from(socket_, in_));
    }
    Poll<Udp::RecvOutput> got = receive_->poll(cx);
    if (got.is_pending()) return pending;
    receive_.reset();
    if (!got.value().ok()) {
      refused_ = got.value().error() == net::RecvError::kPortUnreachable;
      return false;
    }
    return got.value().value().length == size && std::memcmp(in_.data(), out_.data(), size) == 0;
  }

  HostStack* stack_;
  std::uint16_t echo_port_;
  net::UdpSocketId socket_;
  StateCell<SelfTest, &kTransitions> state_{State::Ping};
  std::optional<HostStack::IcmpLayer::EchoRequest> ping_;
  std::optional<HostStack::IcmpLayer::ReceiveEchoReply> pong_;
  bool ping_done_ = false;
  std::optional<TcpEchoCheck> tcp_;
  std::array<std::size_t, 4> sizes_{1, 64, 512, net::kUdpMaxPayload};
  std::size_t size_index_ = 0;
  bool refused_ = false;
  std::optional<Udp::Send> send_;
  std::optional<Udp::Receive> receive_;
  std::array<std::byte, net::kUdpMaxPayload> out_{};
  std::array<std::byte, net::kUdpMaxPayload> in_{};
};

// A task the program may or may not run (a service turned off on the command line): polls the
// machine where it lives, or, without one, never completes and is never woken again. An adapter
// with no state of its own, like by_ref(): the machine it forwards to keeps the poll contract.
template <StateMachine M>
class Maybe {
 public:
  using Output = OutputOf<M>;
  explicit Maybe(M* machine) noexcept : machine_(machine) {}
  Poll<Output> poll(Context& cx) {
    if (machine_ == nullptr) return pending;  // nothing to run: nobody will wake this task
    return machine_->poll(cx);
  }

 private:
  M* machine_;
};

// The signals, looked at every 100 ms: SIGUSR1 prints the counters, SIGINT/SIGTERM stop.
class SignalWatch {
 public:
  using Output = bool;
  explicit SignalWatch(HostStack& stack) noexcept : stack_(&stack) {}
  Poll<bool> poll(Context& cx) {
    state_.expect_pollable();
    if (g_stop) {
      state_.set(State::Done);
      return true;
    }
    if (g_report) {
      g_report = 0;
      print_stack_counters(stdout, *stack_);
    }
    cx.wake_at(cx.now() + std::chrono::milliseconds(100));
    return pending;
  }

 private:
  enum class State : std::uint8_t { Watching, Done };
  static constexpr auto kTransitions = transitions(State::Watching, {{State::Watching, State::Done, "SIGINT or SIGTERM"}});
  HostStack* stack_;
  StateCell<SignalWatch, &kTransitions> state_{State::Watching};
};

int run(int argc, char** argv) {
  const Options options = parse(argc, argv);

  struct sigaction on_signal {};
  on_signal.sa_handler = [](int signal) { (signal == SIGUSR1 ? g_report : g_stop) = 1; };
  sigemptyset(&on_signal.sa_mask);
  for (int s : {SIGINT, SIGTERM, SIGUSR1}) sigaction(s, &on_signal, nullptr);
  signal(SIGPIPE, SIG_IGN);

  int error = 0;
  std::unique_ptr<pcap::Capture> capture;
  if (!options.pcap.empty()) {
    capture = pcap::Capture::open(options.pcap.c_str(), pcap::Capture::kDefaultRingBytes, &error);
    if (capture == nullptr) {
      std::fprintf(stderr, "%s: cannot write the capture %s: %s\n", kProgram, options.pcap.c_str(), std::strerror(error));
      return 1;
    }
  }
  std::optional<driver_channel::DriverListener> listener =
      driver_channel::DriverListener::listen(options.socket.c_str(), &error);
  std::optional<driver_channel::SharedRegion> region = driver_channel::SharedRegion::create(&error);
  driver_channel::Doorbell driver_bell;
  driver_channel::Doorbell stack_bell;
  if (!listener || !region || driver_bell.fd() < 0 || stack_bell.fd() < 0) {
    std::fprintf(stderr, "%s: cannot listen on %s: %s\n", kProgram, options.socket.c_str(), std::strerror(error));
    return 1;
  }
  const net::Ipv4Config& ip = options.interface.ip;
  const wire::MacAddress& mac = options.interface.mac;
  std::printf("%s: %u.%u.%u.%u/%u, MAC %02x:%02x:%02x:%02x:%02x:%02x, MTU %u; waiting for a driver on %s\n",
              kProgram, ip.address.octets[0], ip.address.octets[1], ip.address.octets[2], ip.address.octets[3],
              ip.prefix_length, mac.octets[0], mac.octets[1], mac.octets[2], mac.octets[3], mac.octets[4],
              mac.octets[5], ip.mtu, options.socket.c_str());
  std::fflush(stdout);
  pid_t driver_pid = -1;
  if (!options.driver.empty()) {
    std::vector<char*> args{const_cast<char*>(options.driver.c_str()), const_cast<char*>("--socket"),
                            const_cast<char*>(options.socket.c_str())};
    for (const std::string& a : options.driver_args) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    if (posix_spawn(&driver_pid, options.driver.c_str(), nullptr, nullptr, args.data(), environ) != 0) {
      std::fprintf(stderr, "%s: cannot start the driver %s\n", kProgram, options.driver.c_str());
      return 1;
    }
  }
  const int lifeline = listener->accept_driver(*region, driver_bell, stack_bell, options.attach_timeout_s * 1000, &error);
  if (lifeline < 0) {
    std::fprintf(stderr, "%s: no driver attached: %s\n", kProgram, std::strerror(error));
    if (driver_pid > 0) {
      kill(driver_pid, SIGTERM);
      waitpid(driver_pid, nullptr, 0);
    }
    return 1;
  }

  driver_channel::StackChannel channel(*region, &driver_bell);
  if (capture) {
    channel.set_frame_tap(
        [](void* c, driver_channel::FrameDirection, std::span<const std::byte> frame) noexcept {
          static_cast<pcap::Capture*>(c)->record(frame);
        },
        capture.get());
  }
  static HostStack stack(channel, options.interface);  // static: kept off the stack frame
  std::optional<net::UdpEchoService<Udp>> echo;
  std::optional<net::UdpDiscardService<Udp>> discard;
  for (auto [port, name] : {std::pair{options.echo_port, "echo"}, std::pair{options.discard_port, "discard"}}) {
    if (port == 0) continue;
    const Result<net::UdpSocketId, net::BindError> socket = stack.udp().bind(port);
    if (!socket.ok()) {
      std::fprintf(stderr, "%s: cannot bind the %s port %u\n", kProgram, name, port);
      return 1;
    }
    if (name[0] == 'e') {
      echo.emplace(stack.udp(), socket.value());
    } else {
      discard.emplace(stack.udp(), socket.value());
    }
  }
  // RFC 6528: the initial sequence numbers' secret, once per run.
  std::array<std::uint64_t, 2> secret{};
  if (getrandom(secret.data(), sizeof secret, 0) != static_cast<ssize_t>(sizeof secret)) {
    std::fprintf(stderr, "%s: getrandom failed: %s\n", kProgram, std::strerror(errno));
    return 1;
  }
  stack.tcp().set_isn_secret(secret[0], secret[1]);
  // Each TCP service: a listener on its port (0: the service is off) and the server over it.
  bool listen_failed = false;
  auto serve_tcp = [&](auto& service, std::uint16_t port, const auto&... shared) {
    if (port == 0) return;
    const Result<net::TcpListener, net::ListenError> listening = stack.tcp().listen(port);
    if (!listening.ok()) {
      std::fprintf(stderr, "%s: cannot listen on TCP port %u\n", kProgram, port);
      listen_failed = true;
      return;
    }
    service.emplace(stack.tcp(), listening.value(), shared...);
  };
  std::optional<TcpEcho> tcp_echo;
  std::optional<TcpDiscard> tcp_discard;
  std::optional<Http> http;
  serve_tcp(tcp_echo, options.echo_port, net::TcpEchoCounters{});
  serve_tcp(tcp_discard, options.discard_port, net::TcpDiscardCounters{});
  serve_tcp(http, options.http_port, net::HttpShared{&counters_page, &stack, {}});
  static std::optional<Iperf3> iperf3;  // static: its buffers (~40 KiB) kept off the stack frame
  serve_tcp(iperf3, options.iperf3_port);
  if (listen_failed) return 1;
  std::printf("%s: driver attached; serving UDP and TCP echo on port %u, UDP and TCP discard on port %u, HTTP on port %u, "
              "iperf3 on port %u\n",
              kProgram, options.echo_port, options.discard_port, options.http_port, options.iperf3_port);
  std::fflush(stdout);

  std::optional<SelfTest> self_test;
  if (options.self_test) self_test.emplace(stack, options.echo_port);
  std::optional<TcpEchoCheck> tcp_client;
  if (options.tcp_client) {
    tcp_client.emplace(stack.tcp(), *options.tcp_client, options.tcp_client_bytes, std::chrono::seconds(30));
  }
  // The program's tasks on the runtime: each is polled only when woken or when its deadline came;
  // the program stops when any of them finishes (each finishing means something below).
  Executor tasks{stack.task(), Maybe<net::UdpEchoService<Udp>>(echo ? &*echo : nullptr),
                 Maybe<net::UdpDiscardService<Udp>>(discard ? &*discard : nullptr),
                 Maybe<SelfTest>(self_test ? &*self_test : nullptr), SignalWatch(stack),
                 Maybe<TcpEcho>(tcp_echo ? &*tcp_echo : nullptr), Maybe<Http>(http ? &*http : nullptr),
                 Maybe<TcpEchoCheck>(tcp_client ? &*tcp_client : nullptr),
                 Maybe<TcpDiscard>(tcp_discard ? &*tcp_discard : nullptr),
                 Maybe<Iperf3>(iperf3 ? &*iperf3 : nullptr)};
  constexpr std::size_t kTcpClientTask = 7;  // its end reports, and the program goes on serving
  bool tcp_client_reported = false;
  driver_channel::serve(tasks, channel, stack_bell, lifeline, [&] {
    if (tasks.is_done(kTcpClientTask) && !tcp_client_reported) {
      tcp_client->print(stdout, kProgram, "tcp client");
      std::fflush(stdout);
      tcp_client_reported = true;
    }
    for (std::size_t i = 0; i < tasks.kTaskCount; ++i) {
      if (i != kTcpClientTask && tasks.is_done(i)) return true;
    }
    return false;
  });
  const char* why = "stopped by a signal";
  if (tasks.is_done(0)) why = "the driver went away (link down)";
  if (tasks.is_done(1)) why = "the echo socket failed";
  if (tasks.is_done(2)) why = "the discard socket failed";
  if (tasks.is_done(5)) why = "the TCP echo listener failed";
  if (tasks.is_done(6)) why = "the HTTP listener failed";
  if (tasks.is_done(8)) why = "the TCP discard listener failed";
  if (tasks.is_done(9)) why = "the iperf3 listener failed";
  const bool self_test_passed = tasks.is_done(3) && tasks.output<3>().value();
  if (tasks.is_done(3)) why = self_test_passed ? "the self-test passed" : "the self-test FAILED";
  std::printf("%s: %s; counters:\n", kProgram, why);
  print_stack_counters(stdout, stack);
  if (echo) std::printf("echo:\n  echoed=%" PRIu64 "\n", echo->counters().echoed);
  if (discard) std::printf("discard:\n  datagrams=%" PRIu64 "\n", discard->counters().datagrams);
  if (tcp_echo) {
    const net::TcpEchoCounters& t = tcp_echo->shared();
    std::printf("tcp_echo:\n  accepted=%" PRIu64 "\n  refused=%" PRIu64 "\n  bytes_echoed=%" PRIu64
                "\n  sessions_ended=%" PRIu64 "\n  sessions_failed=%" PRIu64 "\n",
                tcp_echo->counters().accepted, tcp_echo->counters().refused, t.bytes_echoed, t.sessions_ended,
                t.sessions_failed);
  }
  if (tcp_discard) {
    const net::TcpDiscardCounters& t = tcp_discard->shared();
    std::printf("tcp_discard:\n  accepted=%" PRIu64 "\n  refused=%" PRIu64 "\n  bytes_discarded=%" PRIu64
                "\n  sessions_ended=%" PRIu64 "\n  sessions_failed=%" PRIu64 "\n",
                tcp_discard->counters().accepted, tcp_discard->counters().refused, t.bytes_discarded,
                t.sessions_ended, t.sessions_failed);
  }
  if (http) {
    const net::HttpCounters& h = http->shared().counters;
    std::printf("http:\n  accepted=%" PRIu64 "\n  answered=%" PRIu64 "\n  ok=%" PRIu64 "\n  not_found=%" PRIu64
                "\n  bad_method=%" PRIu64 "\n  bad_request=%" PRIu64 "\n  failed=%" PRIu64 "\n  refused=%" PRIu64 "\n",
                http->counters().accepted, h.answered, h.ok, h.not_found, h.bad_method, h.bad_request, h.failed,
                http->counters().refused);
  }
  if (iperf3) {
    const net::Iperf3Counters& i = iperf3->counters();
    std::printf("iperf3:\n  tests_completed=%" PRIu64 "\n  tests_refused=%" PRIu64 "\n  tests_failed=%" PRIu64
                "\n  tests_timed_out=%" PRIu64 "\n  clients_terminated=%" PRIu64 "\n  busy_denied=%" PRIu64
                "\n  bad_cookies=%" PRIu64 "\n  bytes_received=%" PRIu64 "\n  bytes_sent=%" PRIu64 "\n",
                i.tests_completed, i.tests_refused, i.tests_failed, i.tests_timed_out, i.clients_terminated,
                i.busy_denied, i.bad_cookies, i.bytes_received, i.bytes_sent);
  }
  close(lifeline);  // the driver sees its lifeline close and exits
  if (driver_pid > 0) waitpid(driver_pid, nullptr, 0);
  bool capture_ok = true;
  if (capture) {
    channel.set_frame_tap(nullptr, nullptr);
    capture_ok = capture->stop();
    const pcap::CaptureCounters c = capture->counters();
    std::printf("pcap:\n  frames=%" PRIu64 "\n  dropped=%" PRIu64 "\n  bytes=%" PRIu64 "\n  file=%s\n", c.frames,
                c.dropped, c.bytes_written, options.pcap.c_str());
    if (!capture_ok) {
      std::fprintf(stderr, "%s: writing the capture %s failed: %s\n", kProgram, options.pcap.c_str(),
                   std::strerror(c.write_error));
    }
  }
  std::fflush(stdout);
  return (options.self_test && !self_test_passed) || !capture_ok ? 1 : 0;
}

}  // namespace
}  // namespace pollstack::tools

int main(int argc, char** argv) { return pollstack::tools::run(argc, argv); }
