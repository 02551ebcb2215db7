#pragma once
// TcpWorld: two whole stacks (Ethernet to TCP) in one process and one thread, joined by an
// in-process wire (Wire), with one TCP connection from A to B established at set-up. The
// applications the TCP benchmark runs over it are in tcp_applications.h.
//
// Each stack runs over its own real driver channel (driver_channel/: shared region, rings,
// buffer pool). The driver's side of both channels is played here by Wire, which copies each
// frame once, from a TX buffer of one stack into an RX buffer of the other, as a cable between
// two NICs would: MTU 1500, and TCP checksums computed by the sender and verified by the
// receiver (the stack always does both). Everything is busy-polled on one thread: a stack's task
// is polled when its waker fired or its timer is due, with the time read from the steady clock,
// so TCP's timers (the 40 ms delayed ACK, the 200 ms minimum RTO) run as they do in real life.
//
// Benchmark: tcp_benchmark.cc. Tests: tests/benchmarks/tcp_bulk_test.cc.
//   bazel test //tests/benchmarks:tcp_bulk_test

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "driver_channel/driver_port.h"
#include "driver_channel/region.h"
#include "driver_channel/stack_channel.h"
#include "layers/interface.h"
#include "statemachines/hosted/steady_clock.h"

namespace pollstack::bench {

inline constexpr wire::MacAddress kMacA{{2, 0, 0, 0, 0, 0xa}};
inline constexpr wire::MacAddress kMacB{{2, 0, 0, 0, 0, 0xb}};
inline constexpr wire::Ipv4Address kIpA{{10, 13, 0, 1}};
inline constexpr wire::Ipv4Address kIpB{{10, 13, 0, 2}};
inline constexpr std::uint16_t kServerPort = 5001;

/// How long a world waits for progress before it calls the run failed: far above any timer TCP
/// uses on a clean link, far below a test's patience.
inline constexpr Duration kGiveUpAfter = std::chrono::seconds(10);

/// What a task's or an operation's waker sets. The loops poll a thing only when its flag is up
/// (a stack's task also when its timer is due), as an executor would; polling everything on
/// every turn would measure polls that find nothing to do.
class WakeFlag {
 public:
  Waker waker() noexcept { return Waker(&WakeFlag::on_wake, this); }
  /// True once after the waker fired; true at first, so that everything is polled once.
  bool take() noexcept { return std::exchange(up_, false); }
  void raise() noexcept { up_ = true; }

 private:
  static void on_wake(void* flag) noexcept { static_cast<WakeFlag*>(flag)->up_ = true; }
  bool up_ = true;
};

/// What one direction of the wire carried.
struct WireCounters {
  std::uint64_t frames = 0;
  std::uint64_t bytes = 0;
  /// Carries that stopped because the receiver had no free buffer left: a frame waiting then
  /// stays in the sender's TX ring (backpressure) until the receiver gives a buffer back.
  std::uint64_t out_of_buffers = 0;
};

/// Two driver channels joined as two NICs are by a cable. Each end is a real channel (its own
/// shared region, rings and buffer pool) whose driver side is played in this thread: a frame
/// one stack submits is copied once into a receive buffer the other lent its driver, delivered,
/// and the sender's buffer completed. No frame is dropped: while the receiver has no free buffer
/// the frame waits in the sender's TX ring, whose buffers then run out, and the sender's
/// reservations are Pending, as with a NIC whose receive ring is full (the loopback driver's
/// rule, driver_channel/loopback.h).
class Wire {
 public:
  Wire() noexcept;
  Wire(const Wire&) = delete;
  Wire& operator=(const Wire&) = delete;

  driver_channel::StackChannel& channel_a() noexcept { return a_.channel; }
  driver_channel::StackChannel& channel_b() noexcept { return b_.channel; }

  /// Carries every frame waiting either way (A to B first) that the receiver has a buffer for,
  /// then lets both channels take back their sent buffers and wake whoever waits. Returns how
  /// many frames moved.
  std::uint32_t carry() noexcept;

  const WireCounters& a_to_b() const noexcept { return a_to_b_.counters; }
  const WireCounters& b_to_a() const noexcept { return b_to_a_.counters; }

 private:
  struct End {
    End() noexcept;
    driver_channel::SharedRegion region;
    driver_channel::StackChannel channel;  // the stack's side
    driver_channel::DriverPort port;       // the driver's side, played by the wire
  };
  struct Direction {
    driver_channel::Descriptor spare[driver_channel::kMaxBatch];  // receive buffers taken, not used yet
    std::uint32_t spare_count = 0;
    WireCounters counters;
  };

  static std::uint32_t carry(End& from, End& to, Direction& way) noexcept;

  End a_;
  End b_;
  Direction a_to_b_;
  Direction b_to_a_;
};

/// The stacks' capacities: one connection each (nothing else runs), both buffers of it
/// `kBufferBytes`: the window a receiver offers, and what a sender may have unacknowledged
/// (above 64 KiB only with window scaling).
template <std::size_t kBufferBytes>
struct TcpBenchConfig : net::DefaultConfig {
  static constexpr std::size_t kTcpConnections = 1;
  static constexpr std::size_t kTcpSendBufferBytes = kBufferBytes;
  static constexpr std::size_t kTcpReceiveBufferBytes = kBufferBytes;
};

template <std::size_t kBufferBytes>
class TcpWorld {
 public:
  using Stack = net::Interface<driver_channel::StackChannel, TcpBenchConfig<kBufferBytes>>;
  using Tcp = typename Stack::TcpLayer;

  /// Builds the wire, both stacks (each with the other's MAC in its ARP cache), a listener on B,
  /// and connects A to it, both offering `features` (window scaling and timestamps, by default):
  /// the handshake runs to the end here, outside any measurement. failure() says why if it did
  /// not complete. (A world older than ARP's reachable time, 60 s, resolves the other's address
  /// again over the wire, as any stack would.)
  explicit TcpWorld(const net::TcpFeatures& features = {}) noexcept
      : a_(wire_.channel_a(), {kMacA, {kIpA, 24, {}, net::kDefaultTtl}}),
        b_(wire_.channel_b(), {kMacB, {kIpB, 24, {}, net::kDefaultTtl}}),
        run_a_{a_.task(), {}, kNever, false},
        run_b_{b_.task(), {}, kNever, false} {
    a_.tcp().set_features(features);
    b_.tcp().set_features(features);
    now_ = SteadyClock::now();
    a_.arp().neighbours().learn(kIpB, kMacB, /*create=*/true, now_);
    b_.arp().neighbours().learn(kIpA, kMacA, /*create=*/true, now_);
    const Result<net::TcpListener, net::ListenError> listening = b_.tcp().listen(kServerPort);
    if (!listening.ok()) {
      failure_ = "B cannot listen";
      return;
    }
    connect(listening.value());
  }
  TcpWorld(const TcpWorld&) = delete;
  TcpWorld& operator=(const TcpWorld&) = delete;

  /// One turn of the busy-poll loop: reads the clock, polls each stack's task if it was woken or
  /// its timer is due, then carries the frames they sent. Applications poll their operations
  /// between turns, each when its own flag is up.
  void turn() noexcept {
    now_ = SteadyClock::now();
    poll(run_a_);
    poll(run_b_);
    wire_.carry();
  }

  /// The clock as the last turn read it.
  Instant now() const noexcept { return now_; }
  /// A Context for an application's operation, woken through `flag`. (The applications here keep
  /// no timers: what they would ask for goes to a deadline nobody reads.)
  Context context(WakeFlag& flag) noexcept { return Context(flag.waker(), now_, app_deadline_); }

  Stack& a() noexcept { return a_; }
  Stack& b() noexcept { return b_; }
  Wire& wire() noexcept { return wire_; }
  net::TcpSocket client() const noexcept { return client_; }  // A's end
  net::TcpSocket server() const noexcept { return server_; }  // B's end, accepted
  /// Why the world cannot run (the handshake failed, a task ended), or nullptr.
  const char* failure() const noexcept { return failure_; }

  /// Both ends' TCP variables and counters in one line, for a failure's message (allocates).
  std::string describe() {
    return "A " + describe(a_, client_) + " / B " + describe(b_, server_) + " / wire A->B " +
           std::to_string(wire_.a_to_b().frames) + " frames, B->A " + std::to_string(wire_.b_to_a().frames);
  }

 private:
  /// A stack's task and what its owner keeps for it.
  struct TaskRunner {
    typename Stack::Task task;
    WakeFlag flag;
    Instant deadline = kNever;
    bool ended = false;
  };

  void poll(TaskRunner& run) noexcept {
    if (run.ended || (!run.flag.take() && run.deadline > now_)) return;
    run.deadline = kNever;  // a task asks again on every poll that still waits on time
    Context cx(run.flag.waker(), now_, run.deadline);
    if (run.task.poll(cx).is_ready()) {
      run.ended = true;
      failure_ = "an interface task ended: its link went down";
    }
  }

  void connect(net::TcpListener listener) noexcept {
    WakeFlag connecting;
    WakeFlag accepting;
    typename Tcp::Connect connect = a_.tcp().connect({kIpB, kServerPort});
    typename Tcp::Accept accept = b_.tcp().accept(listener);
    bool connected = false;
    bool accepted = false;
    const Instant give_up = now_ + kGiveUpAfter;
    while (!connected || !accepted) {
      if (!connected && connecting.take()) {
        Context cx = context(connecting);
        Poll<typename Tcp::Connect::Output> got = connect.poll(cx);
        if (got.is_ready()) {
          if (!got.value().ok()) return fail("A's connect failed");
          client_ = got.value().value();
          connected = true;
        }
      }
      if (!accepted && accepting.take()) {
        Context cx = context(accepting);
        Poll<typename Tcp::Accept::Output> got = accept.poll(cx);
        if (got.is_ready()) {
          if (!got.value().ok()) return fail("B's accept failed");
          server_ = got.value().value();
          accepted = true;
        }
      }
      if (now_ > give_up) return fail("the handshake did not complete");
      turn();
    }
  }

  void fail(const char* why) noexcept {
    if (failure_ == nullptr) failure_ = why;
  }

  static std::string describe(Stack& stack, net::TcpSocket socket) {
    std::string s;
    if (const std::optional<typename Tcp::Info> i = stack.tcp().info(socket)) {
      s = "[una " + std::to_string(i->snd_una) + " nxt " + std::to_string(i->snd_nxt) + " max " +
          std::to_string(i->snd_max) + " wnd " + std::to_string(i->snd_wnd) + " cwnd " + std::to_string(i->cwnd) +
          " rcv_nxt " + std::to_string(i->rcv_nxt) + " rcv_wnd " + std::to_string(i->rcv_wnd) + " unacked " +
          std::to_string(i->unsent_or_unacked) + " unread " + std::to_string(i->unread) + " srtt " +
          std::to_string(i->srtt.count()) + "us rto " + std::to_string(i->rto.count()) + "us timer " + i->timer + "] ";
    }
    const net::TcpCounters& c = stack.tcp().counters();
    return s + "sent " + std::to_string(c.segments_sent) + " received " + std::to_string(c.segments_received) +
           " rto " + std::to_string(c.retransmissions) + " fast " + std::to_string(c.fast_retransmits);
  }

  Wire wire_;  // first: the stacks hold its channels
  Stack a_;
  Stack b_;
  TaskRunner run_a_;
  TaskRunner run_b_;
  Instant now_{};
  Instant app_deadline_ = kNever;
  net::TcpSocket client_;
  net::TcpSocket server_;
  const char* failure_ = nullptr;
};

}  // namespace pollstack::bench
