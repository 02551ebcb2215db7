// The deterministic network simulator: two whole stacks (Ethernet to TCP) joined by a simulated
// link that drops, duplicates, reorders, corrupts and delays frames, decided by a seeded
// generator. For each seed, one connection carries a few hundred KiB each way, written and read
// in random sizes, then both sides close. Every byte must arrive exactly once and in order, both
// connection tables must end CLOSED (TIME-WAIT included), no device buffer may stay held, and the
// simulated clock has a watchdog: a seed that hangs or fails prints itself, and
// POLLSTACK_SIM_SEED=N replays that one seed alone.
//
// Each stack runs on an Executor under the simulated clock: tasks are polled only when woken or
// when their deadline comes, so a lost wake-up or a timer never armed shows up as a hang. One
// transfer runs with the heap forbidden (tools/heap_probe) around everything the stacks and the
// applications do.
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "layers/interface.h"
#include "statemachines/executor.h"
#include "statemachines/state_cell.h"
#include "tests/layers/fake_channel.h"
#include "tools/heap_probe/heap_probe.h"

namespace pollstack::net {
namespace {

using testing::FakeChannel;
using Stack = Interface<FakeChannel>;  // 16 KiB buffers: a window scale of 0

/// 256 KiB buffers: windows past 64 KiB, so a window scale of 3 when both sides offer it.
struct ScaledConfig : DefaultConfig {
  static constexpr std::size_t kTcpConnections = 2;
  static constexpr std::size_t kTcpSendBufferBytes = 256 * 1024;
  static constexpr std::size_t kTcpReceiveBufferBytes = 256 * 1024;
};
using ScaledStack = Interface<FakeChannel, ScaledConfig>;

constexpr wire::MacAddress kMacA{{2, 0, 0, 0, 0, 0xa}};
constexpr wire::MacAddress kMacB{{2, 0, 0, 0, 0, 0xb}};
constexpr wire::Ipv4Address kIpA{{10, 1, 0, 1}};
constexpr wire::Ipv4Address kIpB{{10, 1, 0, 2}};
constexpr std::uint16_t kServerPort = 5001;

/// What the link does to frames, per frame, in percent (and the latency range).
struct Impairments {
  int drop = 2;
  int duplicate = 1;
  int reorder = 3;  // held back by up to 5 ms more than the others
  int corrupt = 1;  // one byte of the TCP segment flipped: its checksum must catch it
  Duration latency{500};
  Duration jitter{100};
};

/// One direction of the link: frames taken from one device, delivered to the other at their time.
class Link {
 public:
  Link(FakeChannel& from, FakeChannel& to, std::mt19937& random, const Impairments& impair)
      : from_(&from), to_(&to), random_(&random), impair_(impair) {}

  /// Takes what the sender submitted and schedules it (or loses it).
  void carry(Instant now) {
    while (std::optional<testing::Frame> frame = from_->take_sent()) {
      ++offered;
      if (percent() < impair_.drop) {
        ++dropped;
        continue;
      }
      if (percent() < impair_.corrupt) corrupt(*frame);
      const int copies = percent() < impair_.duplicate ? 2 : 1;
      for (int i = 0; i < copies; ++i) {
        Instant at = now + impair_.latency + Duration{static_cast<std::int64_t>(random_->operator()() % (impair_.jitter.count() + 1))};
        if (percent() < impair_.reorder) at += Duration{static_cast<std::int64_t>(random_->operator()() % 5000)};
        in_flight_.push_back({at, *frame});
      }
    }
  }

  /// Delivers every frame due at `now`.
  void deliver(Instant now) {
    for (auto it = in_flight_.begin(); it != in_flight_.end();) {
      if (it->at <= now) {
        to_->inject(std::move(it->frame));
        it = in_flight_.erase(it);
      } else {
        ++it;
      }
    }
  }

  Instant next_delivery() const {
    Instant next = kNever;
    for (const InFlight& f : in_flight_) next = std::min(next, f.at);
    return next;
  }

  std::uint64_t offered = 0;
  std::uint64_t dropped = 0;
  std::uint64_t corrupted = 0;

 private:
  struct InFlight {
    Instant at;
    testing::Frame frame;
  };

  int percent() { return static_cast<int>(random_->operator()() % 100); }

  // Only TCP segments are corrupted: a real NIC's frame check sequence drops a frame damaged on
  // the wire, so what reaches a stack damaged is what passed it (the end-to-end argument).
  void corrupt(testing::Frame& frame) {
    constexpr std::size_t kTcpStart = wire::kEthernetHeaderBytes + wire::kIpv4HeaderBytes;
    if (frame.size() <= kTcpStart || static_cast<std::uint8_t>(frame[wire::kEthernetHeaderBytes + 9]) != 6) return;
    const std::size_t at = kTcpStart + random_->operator()() % (frame.size() - kTcpStart);
    frame[at] ^= static_cast<std::byte>(1 + random_->operator()() % 255);
    ++corrupted;
  }

  FakeChannel* from_;
  FakeChannel* to_;
  std::mt19937* random_;
  Impairments impair_;
  std::deque<InFlight> in_flight_;
};

/// The byte at `offset` of the stream a side sends: a function of the seed, so the reader checks
/// what it gets without a copy of what was sent.
std::byte stream_byte(std::uint32_t seed, int side, std::size_t offset) {
  std::uint64_t x = (std::uint64_t{seed} << 33) ^ (std::uint64_t(side) << 32) ^ offset;
  x ^= x >> 29;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 32;
  return static_cast<std::byte>(x);
}

/// One end of the connection, as an application task: open (connect or accept), then write its
/// stream and read the other's at once, in random sizes, then shut down, read to the end, close.
template <class S>
class Endpoint {
  using TcpLayer = typename S::TcpLayer;

 public:
  using Output = void;

  Endpoint(TcpLayer& tcp, int side, std::uint32_t seed, std::size_t bytes, std::optional<TcpListener> listener,
           std::mt19937& random)
      : tcp_(&tcp), random_(&random), seed_(seed), side_(side), listener_(listener), out_(bytes), expected_in_(bytes) {
    for (std::size_t i = 0; i < bytes; ++i) out_[i] = stream_byte(seed, side, i);
  }
  Endpoint(Endpoint&& o) noexcept
      : tcp_(o.tcp_), random_(o.random_), seed_(o.seed_), side_(o.side_), listener_(o.listener_),
        out_(std::move(o.out_)), expected_in_(o.expected_in_) {}

  Poll<void> poll(Context& cx) {
    state_.expect_pollable();
    if (state_.get() == State::Opening) {
      if (listener_) {
        if (!accept_) accept_.emplace(tcp_->accept(*listener_));
        auto got = accept_->poll(cx);
        if (got.is_pending()) return pending;
        accept_.reset();
        if (!got.value().ok()) return fail("accept failed");
        socket_ = got.value().value();
      } else {
        if (!connect_) connect_.emplace(tcp_->connect({kIpB, kServerPort}));
        auto got = connect_->poll(cx);
        if (got.is_pending()) return pending;
        connect_.reset();
        if (!got.value().ok()) return fail("connect failed");
        socket_ = got.value().value();
      }
      agreed_ = *tcp_->info(socket_);  // what the handshake agreed (RFC 7323's options)
      state_.set(State::Transferring);
    }
    bool progress = true;
    while (progress) {
      progress = false;
      if (written_ < out_.size()) {
        if (!write_) {
          const std::size_t n = std::min<std::size_t>(out_.size() - written_, 1 + (*random_)() % 6000);
          write_.emplace(tcp_->write(socket_, std::span<const std::byte>(out_).subspan(written_, n)));
        }
        auto done = write_->poll(cx);
        if (done.is_ready()) {
          write_.reset();
          if (!done.value().ok()) return fail("write failed");
          written_ += done.value().value();
          progress = true;
          if (written_ == out_.size() && tcp_->shutdown(socket_).has_value()) return fail("shutdown failed");
        }
      }
      if (!end_of_stream_) {
        if (!read_) read_.emplace(tcp_->read(socket_, std::span(in_).first(1 + (*random_)() % in_.size())));
        auto got = read_->poll(cx);
        if (got.is_ready()) {
          read_.reset();
          if (!got.value().ok()) return fail("read failed");
          const std::size_t n = got.value().value();
          if (n == 0) {
            end_of_stream_ = true;
          } else {
            for (std::size_t i = 0; i < n; ++i) {
              if (in_[i] != stream_byte(seed_, 1 - side_, read_bytes_ + i)) return fail("a byte arrived wrong");
            }
            read_bytes_ += n;
            if (read_bytes_ > expected_in_) return fail("more bytes arrived than were sent");
          }
          progress = true;
        }
      }
    }
    if (written_ < out_.size() || !end_of_stream_) return pending;
    if (read_bytes_ != expected_in_) return fail("the stream ended early");
    tcp_->close(socket_);
    state_.set(State::Done);
    return ready();
  }

  const char* failure() const { return failure_; }
  std::string describe() const {
    std::string info;
    if (const std::optional<typename TcpLayer::Info> i = tcp_->info(socket_)) {
      info = " [una " + std::to_string(i->snd_una) + " nxt " + std::to_string(i->snd_nxt) + " max " +
             std::to_string(i->snd_max) + " wnd " + std::to_string(i->snd_wnd) + " cwnd " + std::to_string(i->cwnd) +
             " rcv_nxt " + std::to_string(i->rcv_nxt) + " rcv_wnd " + std::to_string(i->rcv_wnd) + " unacked " +
             std::to_string(i->unsent_or_unacked) + " unread " + std::to_string(i->unread) + " ooo " +
             std::to_string(i->out_of_order_ranges) + " rto " + std::to_string(i->rto.count()) + " retries " +
             std::to_string(i->retries) + "]";
    }
    return info + std::string(failure_ ? failure_ : "") + " wrote " + std::to_string(written_) + "/" + std::to_string(out_.size()) + ", read " +
           std::to_string(read_bytes_) + (end_of_stream_ ? " + FIN" : "") + (state_.is_done() ? ", done" : "");
  }
  bool finished() const { return state_.is_done(); }
  /// The connection's variables just after it opened: the options the handshake agreed.
  const typename TcpLayer::Info& agreed() const { return agreed_; }

 private:
  enum class State : std::uint8_t { Opening, Transferring, Done };
  static constexpr auto kTransitions = transitions(State::Opening, {
      {State::Opening, State::Transferring, "connected"},
      {State::Opening, State::Done, "a failure"},
      {State::Transferring, State::Done, "both streams complete, or a failure"},
  });

  Poll<void> fail(const char* why) {
    failure_ = why;
    state_.set(State::Done);
    return ready();
  }

  TcpLayer* tcp_;
  std::mt19937* random_;
  std::uint32_t seed_;
  int side_;
  std::optional<TcpListener> listener_;
  std::vector<std::byte> out_;
  std::size_t expected_in_;
  std::array<std::byte, 8192> in_{};
  std::size_t written_ = 0;
  std::size_t read_bytes_ = 0;
  bool end_of_stream_ = false;
  TcpSocket socket_;
  typename TcpLayer::Info agreed_;
  const char* failure_ = nullptr;
  std::optional<typename TcpLayer::Accept> accept_;
  std::optional<typename TcpLayer::Connect> connect_;
  std::optional<typename TcpLayer::Write> write_;
  std::optional<typename TcpLayer::Read> read_;
  StateCell<Endpoint, &kTransitions> state_{State::Opening};
};

// Where a side stands: its connections' states and its application's progress.
template <class S>
std::string progress(S& stack, const Endpoint<S>& e) {
  std::string s;
  constexpr const char* kNames[] = {"SynSent", "SynReceived", "Established", "FinWait1", "FinWait2",
                                    "CloseWait", "Closing", "LastAck", "TimeWait", "Done"};
  for (int st = 0; st < 9; ++st) {
    const std::size_t n = stack.tcp().count_in(static_cast<TcpState>(st));
    if (n > 0) s += std::string(kNames[st]) + "=" + std::to_string(n) + " ";
  }
  return s + e.describe();
}

struct Outcome {
  bool ok = false;
  std::string why;
  Duration elapsed{0};
  Duration transfer{0};  // until both applications were done (before TIME-WAIT)
  std::uint64_t frames = 0;
  std::uint64_t retransmissions = 0;
  std::uint64_t fast_retransmits = 0;
  std::uint64_t timestamp_rtt_samples = 0;
  std::uint64_t paws_drops = 0;
  std::uint64_t sack_retransmits = 0;
  // What the client's connection agreed with the server's (RFC 7323, RFC 2018).
  bool sack = false;
  bool timestamps = false;
  bool window_scaling = false;
  std::uint8_t window_shift = 0;  // the server's, as the client applies it
};

/// One seed: the whole exchange, start to CLOSED, between two stacks of type S whose connections
/// offer `features` (RFC 7323's options; each is used only when both offer it).
template <class S = Stack>
Outcome simulate(std::uint32_t seed, std::size_t bytes, const Impairments& impair, bool forbid_heap = false,
                 const TcpFeatures& features = {}) {
  std::mt19937 random(seed);
  auto channel_a = std::make_unique<FakeChannel>();
  auto channel_b = std::make_unique<FakeChannel>();
  auto a = std::make_unique<S>(*channel_a, InterfaceConfig{kMacA, {kIpA, 24, {}, kDefaultTtl}});
  auto b = std::make_unique<S>(*channel_b, InterfaceConfig{kMacB, {kIpB, 24, {}, kDefaultTtl}});
  a->tcp().set_isn_secret(seed, 1);
  b->tcp().set_isn_secret(seed, 2);
  a->tcp().set_features(features);
  b->tcp().set_features(features);
  const Result<TcpListener, ListenError> listening = b->tcp().listen(kServerPort);
  REQUIRE(listening.ok());
  Link a_to_b(*channel_a, *channel_b, random, impair);
  Link b_to_a(*channel_b, *channel_a, random, impair);

  Executor stack_a{a->task(), Endpoint<S>(a->tcp(), 0, seed, bytes, std::nullopt, random)};
  Executor stack_b{b->task(), Endpoint<S>(b->tcp(), 1, seed, bytes, listening.value(), random)};

  Outcome out;
  const Instant start{Duration{1'000'000}};
  const Instant watchdog = start + std::chrono::seconds(900);
  Instant now = start;
  const auto all_closed = [&] {
    for (int st = 0; st < static_cast<int>(TcpState::Done); ++st) {
      if (a->tcp().count_in(static_cast<TcpState>(st)) + b->tcp().count_in(static_cast<TcpState>(st)) != 0) return false;
    }
    return true;
  };
  for (;;) {
    {
      // The stacks and the applications' operations: with the heap forbidden, any allocation in
      // them aborts (the link between them, test scaffolding, runs outside).
      std::optional<heap_probe::ForbidHeap> no_heap;
      if (forbid_heap) no_heap.emplace();
      stack_a.run_ready(now);
      stack_b.run_ready(now);
    }
    a_to_b.carry(now);
    b_to_a.carry(now);
    const bool apps_done = stack_a.is_done(1) && stack_b.is_done(1);
    if (apps_done && out.transfer == Duration{0}) out.transfer = now - start;
    if (apps_done && all_closed()) break;
    if (stack_a.is_done(0) || stack_b.is_done(0)) {
      out.why = "an interface task ended";
      return out;
    }
    if (stack_a.has_woken() || stack_b.has_woken()) continue;
    const Instant next = std::min({stack_a.next_deadline(), stack_b.next_deadline(), a_to_b.next_delivery(),
                                   b_to_a.next_delivery()});
    if (next == kNever) {
      out.why = "hang: nothing is woken, no timer is armed and nothing is on the wire; " + progress(*a, stack_a.template task<1>()) +
                " / " + progress(*b, stack_b.template task<1>());
      return out;
    }
    if (next > watchdog) {
      out.why = "watchdog: 900 simulated seconds passed; " + progress(*a, stack_a.template task<1>()) + " / " +
                progress(*b, stack_b.template task<1>());
      return out;
    }
    now = std::max(now, next);
    a_to_b.deliver(now);
    b_to_a.deliver(now);
  }
  for (auto* e : {&stack_a.template task<1>(), &stack_b.template task<1>()}) {
    if (e->failure() != nullptr) {
      out.why = e->failure();
      return out;
    }
  }
  if (channel_a->rx_held() != 0 || channel_b->rx_held() != 0) {
    out.why = "a receive buffer is still held";
    return out;
  }
  out.ok = true;
  out.elapsed = now - start;
  out.frames = a_to_b.offered + b_to_a.offered;
  out.retransmissions = a->tcp().counters().retransmissions + b->tcp().counters().retransmissions;
  out.fast_retransmits = a->tcp().counters().fast_retransmits + b->tcp().counters().fast_retransmits;
  out.timestamp_rtt_samples = a->tcp().counters().timestamp_rtt_samples + b->tcp().counters().timestamp_rtt_samples;
  out.paws_drops = a->tcp().counters().dropped[TcpDrop::kPaws] + b->tcp().counters().dropped[TcpDrop::kPaws];
  out.sack_retransmits = a->tcp().counters().sack_retransmits + b->tcp().counters().sack_retransmits;
  out.sack = stack_a.template task<1>().agreed().sack;
  const auto& agreed = stack_a.template task<1>().agreed();
  out.timestamps = agreed.timestamps;
  out.window_scaling = agreed.window_scaling;
  out.window_shift = agreed.snd_wscale;
  return out;
}

std::string describe(std::uint32_t seed, const Outcome& o) {
  return "seed " + std::to_string(seed) + ": " + o.why + " (replay: POLLSTACK_SIM_SEED=" + std::to_string(seed) + ")";
}

/// Runs the seeds (1..1000, or POLLSTACK_SIM_SEED=N alone, or the first POLLSTACK_SIM_SEEDS=N) of
/// `simulate_one(seed, bytes)`; every one must pass, and `agreed` must hold of each.
template <class Simulate, class Agreed>
void run_seeds(std::uint32_t default_count, Simulate simulate_one, Agreed agreed) {
  std::uint32_t first = 1;
  std::uint32_t count = default_count;
  if (const char* one = std::getenv("POLLSTACK_SIM_SEED")) {
    first = static_cast<std::uint32_t>(std::strtoul(one, nullptr, 10));
    count = 1;
  } else if (const char* n = std::getenv("POLLSTACK_SIM_SEEDS")) {
    count = std::min(count, static_cast<std::uint32_t>(std::strtoul(n, nullptr, 10)));
  }
  std::uint32_t failures = 0;
  Duration longest{0};
  Outcome sum;
  for (std::uint32_t seed = first; seed < first + count; ++seed) {
    const std::size_t bytes = 100 * 1024 + (seed * 7919) % (200 * 1024);
    Outcome o = simulate_one(seed, bytes);
    if (o.ok && !agreed(o)) {
      o.ok = false;
      o.why = "the handshake did not agree the expected options";
    }
    if (!o.ok) {
      ++failures;
      if (failures <= 10) FAIL_CHECK(describe(seed, o));
      continue;
    }
    longest = std::max(longest, o.elapsed);
    sum.retransmissions += o.retransmissions;
    sum.fast_retransmits += o.fast_retransmits;
    sum.timestamp_rtt_samples += o.timestamp_rtt_samples;
    sum.paws_drops += o.paws_drops;
    sum.sack_retransmits += o.sack_retransmits;
    sum.transfer += o.transfer;
  }
  CHECK(failures == 0);
  MESSAGE(count << " seeds, " << failures << " failed; longest " << longest.count() / 1000 << " simulated ms; "
                << "transfers took " << sum.transfer.count() / 1000 << " simulated ms in all; "
                << sum.retransmissions << " retransmission timeouts and " << sum.fast_retransmits
                << " fast retransmits in all; " << sum.sack_retransmits << " holes resent from the SACK scoreboard; "
                << sum.timestamp_rtt_samples << " RTT samples from timestamps, " << sum.paws_drops
                << " segments dropped by PAWS");
}

TEST_CASE("simulated lossy link: every seed transfers both ways byte for byte and ends CLOSED") {
  const Impairments impair;
  SUBCASE("SACK, timestamps and window scaling offered by both (the default)") {
    run_seeds(1000, [&](std::uint32_t seed, std::size_t bytes) { return simulate(seed, bytes, impair); },
              [](const Outcome& o) { return o.sack && o.timestamps && o.window_scaling && o.window_shift == 0; });
  }
  SUBCASE("none of them offered: NewReno without SACK") {
    const TcpFeatures off{.window_scaling = false, .timestamps = false, .sack = false,
                          .congestion = CongestionControl::kNewReno};
    run_seeds(1000, [&](std::uint32_t seed, std::size_t bytes) { return simulate(seed, bytes, impair, false, off); },
              [](const Outcome& o) { return !o.sack && !o.timestamps && !o.window_scaling && o.sack_retransmits == 0; });
  }
  SUBCASE("SACK without timestamps (four blocks fit)") {
    const TcpFeatures sack_only{.window_scaling = true, .timestamps = false, .sack = true};
    run_seeds(200, [&](std::uint32_t seed, std::size_t bytes) { return simulate(seed, bytes, impair, false, sack_only); },
              [](const Outcome& o) { return o.sack && !o.timestamps; });
  }
  SUBCASE("256 KiB buffers: windows scaled by 3") {
    run_seeds(200,
              [&](std::uint32_t seed, std::size_t bytes) { return simulate<ScaledStack>(seed, bytes, impair); },
              [](const Outcome& o) { return o.sack && o.timestamps && o.window_scaling && o.window_shift == 3; });
  }
}

TEST_CASE("a whole lossy transfer with the heap forbidden in both stacks and their applications") {
  const heap_probe::Counts before = heap_probe::thread_counts();
  const Outcome o = simulate(7, 200 * 1024, Impairments{}, /*forbid_heap=*/true);
  REQUIRE_MESSAGE(o.ok, describe(7, o));
  CHECK(o.retransmissions + o.fast_retransmits > 0);  // the losses were recovered under the ban too
  CHECK(heap_probe::thread_counts().allocations > before.allocations);  // the probe is linked: the link allocates
}

TEST_CASE("a clean simulated link: no retransmission at all") {
  Impairments clean{0, 0, 0, 0, Duration{500}, Duration{0}};
  const Outcome o = simulate(42, 300 * 1024, clean);
  REQUIRE_MESSAGE(o.ok, describe(42, o));
  CHECK(o.retransmissions == 0);
}

}  // namespace
}  // namespace pollstack::net
