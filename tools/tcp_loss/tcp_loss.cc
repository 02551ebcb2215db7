// tcp_loss: how fast a TCP transfer recovers from random loss, in simulated time, for each loss
// recovery a sender and a receiver can agree: our SACK scoreboard with CUBIC against NewReno
// without SACK (issue #13's loss recovery figures).
//
// Two whole stacks (Ethernet to TCP, 256 KiB buffers: windows scaled) over the fake channel,
// joined by a link that drops each frame with the given probability and delays every frame by
// half the round trip, under one simulated clock: the figures are deterministic for a seed and
// independent of the machine. A sends a stream of `--mib` MiB to B, which checks every byte. The
// goodput is the payload over the simulated time until B has read all of it.
//
//   bazel run //tools/tcp_loss -- [--loss PERCENT] [--rtt MS] [--mib N] [--seeds N]
//
// Prints, for each configuration, the goodput over the seeds (median, min-max) and the recovery
// counters summed. Exit status 1 if any transfer failed (a byte wrong, a connection ended).
#include <algorithm>
#include <array>
#include <cinttypes>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "layers/interface.h"
#include "statemachines/executor.h"
#include "tests/layers/fake_channel.h"

namespace pollstack::net {
namespace {

using testing::FakeChannel;

struct LossConfig : DefaultConfig {
  static constexpr std::size_t kTcpConnections = 1;
  static constexpr std::size_t kTcpSendBufferBytes = 256 * 1024;
  static constexpr std::size_t kTcpReceiveBufferBytes = 256 * 1024;
};
using Stack = Interface<FakeChannel, LossConfig>;
using TcpLayer = Stack::TcpLayer;

constexpr wire::MacAddress kMacA{{2, 0, 0, 0, 0, 0xa}};
constexpr wire::MacAddress kMacB{{2, 0, 0, 0, 0, 0xb}};
constexpr wire::Ipv4Address kIpA{{10, 1, 0, 1}};
constexpr wire::Ipv4Address kIpB{{10, 1, 0, 2}};
constexpr std::uint16_t kPort = 5001;

/// One direction of the link: each frame dropped with probability `loss_per_million` / 10^6,
/// the others delivered `delay` later, in order.
class Link {
 public:
  Link(FakeChannel& from, FakeChannel& to, std::mt19937& random, std::uint32_t loss_per_million, Duration delay)
      : from_(&from), to_(&to), random_(&random), loss_(loss_per_million), delay_(delay) {}

  void carry(Instant now) {
    while (std::optional<testing::Frame> frame = from_->take_sent()) {
      if ((*random_)() % 1'000'000 < loss_) {
        ++dropped;
        continue;
      }
      in_flight_.push_back({now + delay_, std::move(*frame)});
    }
  }
  void deliver(Instant now) {
    while (!in_flight_.empty() && in_flight_.front().at <= now) {
      to_->inject(std::move(in_flight_.front().frame));
      in_flight_.pop_front();
    }
  }
  Instant next_delivery() const { return in_flight_.empty() ? kNever : in_flight_.front().at; }

  std::uint64_t dropped = 0;

 private:
  struct InFlight {
    Instant at;
    testing::Frame frame;
  };
  FakeChannel* from_;
  FakeChannel* to_;
  std::mt19937* random_;
  std::uint32_t loss_;
  Duration delay_;
  std::deque<InFlight> in_flight_;
};

std::byte stream_byte(std::uint64_t offset) { return static_cast<std::byte>((offset * 131 + (offset >> 9)) & 0xff); }

/// The sender: connects, then writes the stream in 64 KiB writes.
class Sender {
 public:
  using Output = void;
  Sender(TcpLayer& tcp, std::uint64_t bytes) : tcp_(&tcp), total_(bytes) {}
  Sender(Sender&& o) noexcept : tcp_(o.tcp_), total_(o.total_) {}

  Poll<void> poll(Context& cx) {
    if (!socket_) {
      if (!connect_) connect_.emplace(tcp_->connect({kIpB, kPort}));
      auto got = connect_->poll(cx);
      if (got.is_pending()) return pending;
      connect_.reset();
      if (!got.value().ok()) return fail("connect failed");
      socket_ = got.value().value();
    }
    while (written_ < total_) {
      if (!write_) {
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk_.size(), total_ - written_));
        for (std::size_t i = 0; i < n; ++i) chunk_[i] = stream_byte(written_ + i);
        write_.emplace(tcp_->write(*socket_, std::span<const std::byte>(chunk_).first(n)));
      }
      auto done = write_->poll(cx);
      if (done.is_pending()) return pending;
      write_.reset();
      if (!done.value().ok()) return fail("write failed");
      written_ += done.value().value();
    }
    tcp_->close(*socket_);
    return ready();
  }
  const char* failure() const { return failure_; }
  std::optional<TcpSocket> socket() const { return socket_; }

 private:
  Poll<void> fail(const char* why) {
    failure_ = why;
    return ready();
  }
  TcpLayer* tcp_;
  std::uint64_t total_;
  std::uint64_t written_ = 0;
  std::array<std::byte, 65536> chunk_{};
  std::optional<TcpSocket> socket_;
  std::optional<TcpLayer::Connect> connect_;
  std::optional<TcpLayer::Write> write_;
  const char* failure_ = nullptr;
};

/// The receiver: accepts, reads everything, checks every byte.
class Receiver {
 public:
  using Output = void;
  Receiver(TcpLayer& tcp, TcpListener listener, std::uint64_t bytes) : tcp_(&tcp), listener_(listener), total_(bytes) {}
  Receiver(Receiver&& o) noexcept : tcp_(o.tcp_), listener_(o.listener_), total_(o.total_) {}

  Poll<void> poll(Context& cx) {
    if (!socket_) {
      if (!accept_) accept_.emplace(tcp_->accept(listener_));
      auto got = accept_->poll(cx);
      if (got.is_pending()) return pending;
      accept_.reset();
      if (!got.value().ok()) return fail("accept failed");
      socket_ = got.value().value();
    }
    while (read_ < total_) {
      if (!reading_) reading_.emplace(tcp_->read(*socket_, buffer_));
      auto got = reading_->poll(cx);
      if (got.is_pending()) return pending;
      reading_.reset();
      if (!got.value().ok() || got.value().value() == 0) return fail("the stream ended early");
      for (std::size_t i = 0; i < got.value().value(); ++i) {
        if (buffer_[i] != stream_byte(read_ + i)) return fail("a byte arrived wrong");
      }
      read_ += got.value().value();
    }
    done_at_ = cx.now();
    tcp_->close(*socket_);
    return ready();
  }
  const char* failure() const { return failure_; }
  Instant done_at() const { return done_at_; }

 private:
  Poll<void> fail(const char* why) {
    failure_ = why;
    return ready();
  }
  TcpLayer* tcp_;
  TcpListener listener_;
  std::uint64_t total_;
  std::uint64_t read_ = 0;
  std::array<std::byte, 65536> buffer_{};
  std::optional<TcpSocket> socket_;
  std::optional<TcpLayer::Accept> accept_;
  std::optional<TcpLayer::Read> reading_;
  Instant done_at_ = kNever;
  const char* failure_ = nullptr;
};

struct Outcome {
  bool ok = false;
  std::string why;
  double mbit_per_s = 0;
  std::uint64_t timeouts = 0, fast_retransmits = 0, sack_retransmits = 0, dropped = 0;
};

Outcome transfer(const TcpFeatures& sender, const TcpFeatures& receiver, std::uint32_t loss_per_million, Duration rtt,
                 std::uint64_t bytes, std::uint32_t seed) {
  std::mt19937 random(seed);
  auto channel_a = std::make_unique<FakeChannel>();
  auto channel_b = std::make_unique<FakeChannel>();
  auto a = std::make_unique<Stack>(*channel_a, InterfaceConfig{kMacA, {kIpA, 24, {}, kDefaultTtl}});
  auto b = std::make_unique<Stack>(*channel_b, InterfaceConfig{kMacB, {kIpB, 24, {}, kDefaultTtl}});
  a->tcp().set_features(sender);
  b->tcp().set_features(receiver);
  const Instant start{std::chrono::seconds(1)};
  a->arp().neighbours().learn(kIpB, kMacB, true, start);
  b->arp().neighbours().learn(kIpA, kMacA, true, start);
  const Result<TcpListener, ListenError> listening = b->tcp().listen(kPort);
  Outcome out;
  if (!listening.ok()) return out;
  Link a_to_b(*channel_a, *channel_b, random, loss_per_million, rtt / 2);
  Link b_to_a(*channel_b, *channel_a, random, loss_per_million, rtt / 2);
  Executor side_a{a->task(), Sender(a->tcp(), bytes)};
  Executor side_b{b->task(), Receiver(b->tcp(), listening.value(), bytes)};
  Instant now = start;
  const Instant watchdog = start + std::chrono::hours(1);
  while (!side_b.is_done(1)) {
    side_a.run_ready(now);
    side_b.run_ready(now);
    a_to_b.carry(now);
    b_to_a.carry(now);
    if (side_a.has_woken() || side_b.has_woken()) continue;
    const Instant next = std::min({side_a.next_deadline(), side_b.next_deadline(), a_to_b.next_delivery(), b_to_a.next_delivery()});
    if (next == kNever || next > watchdog) {
      out.why = next == kNever ? "hang: nothing to wait for" : "watchdog: an hour of simulated time";
      return out;
    }
    now = std::max(now, next);
    a_to_b.deliver(now);
    b_to_a.deliver(now);
  }
  if (const char* why = side_b.task<1>().failure()) {
    out.why = why;
    return out;
  }
  if (const char* why = side_a.task<1>().failure()) {
    out.why = why;
    return out;
  }
  out.ok = true;
  const double seconds = std::chrono::duration<double>(side_b.task<1>().done_at() - start).count();
  out.mbit_per_s = static_cast<double>(bytes) * 8 / seconds / 1e6;
  const TcpCounters& c = a->tcp().counters();
  out.timeouts = c.retransmissions;
  out.fast_retransmits = c.fast_retransmits;
  out.sack_retransmits = c.sack_retransmits;
  out.dropped = a_to_b.dropped + b_to_a.dropped;
  return out;
}

struct Configuration {
  const char* name;
  TcpFeatures sender;
  TcpFeatures receiver;
};

int run(int argc, char** argv) {
  double loss_percent = 1.0;
  int rtt_ms = 20;
  std::uint64_t mib = 32;
  std::uint32_t seeds = 5;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
    if (value == nullptr) {
      std::fprintf(stderr, "tcp_loss: %s needs a value\n", flag.c_str());
      return 2;
    }
    if (flag == "--loss") {
      loss_percent = std::strtod(value, nullptr);
    } else if (flag == "--rtt") {
      rtt_ms = std::atoi(value);
    } else if (flag == "--mib") {
      mib = std::strtoull(value, nullptr, 10);
    } else if (flag == "--seeds") {
      seeds = static_cast<std::uint32_t>(std::strtoul(value, nullptr, 10));
    } else {
      std::fprintf(stderr, "usage: tcp_loss [--loss PERCENT] [--rtt MS] [--mib N] [--seeds N]\n");
      return 2;
    }
    ++i;
  }
  if (loss_percent < 0 || loss_percent >= 50 || rtt_ms < 1 || rtt_ms > 2000 || mib < 1 || mib > 1024 || seeds < 1) {
    std::fprintf(stderr, "tcp_loss: --loss 0..50, --rtt 1..2000, --mib 1..1024, --seeds >= 1\n");
    return 2;
  }
  const TcpFeatures all{};
  const TcpFeatures newreno_no_sack{.window_scaling = true, .timestamps = true, .sack = false,
                                    .congestion = CongestionControl::kNewReno};
  const TcpFeatures cubic_no_sack{.window_scaling = true, .timestamps = true, .sack = false};
  const TcpFeatures newreno_sack{.window_scaling = true, .timestamps = true, .sack = true,
                                 .congestion = CongestionControl::kNewReno};
  const Configuration configurations[] = {
      {"SACK scoreboard + CUBIC (the default)", all, all},
      {"SACK scoreboard + NewReno", newreno_sack, all},
      {"no SACK + CUBIC", cubic_no_sack, all},
      {"no SACK + NewReno", newreno_no_sack, all},
      {"receiver without SACK-permitted (sender as default)", all, cubic_no_sack},
  };
  std::printf("tcp_loss: %" PRIu64 " MiB A->B, %.2f%% loss each way, %d ms round trip, 256 KiB buffers, %u seeds "
              "(simulated time)\n\n", mib, loss_percent, rtt_ms, seeds);
  std::printf("| sender / receiver | goodput Mbit/s, median (min-max) | timeouts | fast retransmits | SACK resends |\n");
  std::printf("|---|---:|---:|---:|---:|\n");
  bool failed = false;
  for (const Configuration& config : configurations) {
    std::vector<double> goodput;
    Outcome sum;
    for (std::uint32_t seed = 1; seed <= seeds; ++seed) {
      const Outcome o = transfer(config.sender, config.receiver, static_cast<std::uint32_t>(loss_percent * 10'000),
                                 std::chrono::milliseconds(rtt_ms), mib << 20, seed);
      if (!o.ok) {
        std::printf("FAILED: %s, seed %u: %s\n", config.name, seed, o.why.c_str());
        failed = true;
        continue;
      }
      goodput.push_back(o.mbit_per_s);
      sum.timeouts += o.timeouts;
      sum.fast_retransmits += o.fast_retransmits;
      sum.sack_retransmits += o.sack_retransmits;
    }
    if (goodput.empty()) continue;
    std::sort(goodput.begin(), goodput.end());
    std::printf("| %s | %.1f (%.1f-%.1f) | %" PRIu64 " | %" PRIu64 " | %" PRIu64 " |\n", config.name,
                goodput[goodput.size() / 2], goodput.front(), goodput.back(), sum.timeouts, sum.fast_retransmits,
                sum.sack_retransmits);
  }
  return failed ? 1 : 0;
}

}  // namespace
}  // namespace pollstack::net

int main(int argc, char** argv) { return pollstack::net::run(argc, argv); }
