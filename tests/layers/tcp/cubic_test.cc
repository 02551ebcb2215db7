// Cubic (layers/tcp/cubic.h): RFC 9438's window in integers, checked against the RFC's formulas
// worked by hand.
#include "layers/tcp/cubic.h"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <limits>

namespace pollstack::net {
namespace {

constexpr std::uint32_t kMss = 1000;
constexpr Instant kStart{std::chrono::seconds(100)};

TEST_CASE("cube_root is the floor of the cube root, up to 2^64 - 1") {
  CHECK(Cubic::cube_root(0) == 0);
  CHECK(Cubic::cube_root(7) == 1);
  CHECK(Cubic::cube_root(8) == 2);
  CHECK(Cubic::cube_root(26) == 2);
  CHECK(Cubic::cube_root(27) == 3);
  CHECK(Cubic::cube_root(75'000'000'000ULL) == 4217);  // 75 s³ in ms³: K of the case below
  CHECK(Cubic::cube_root(std::numeric_limits<std::uint64_t>::max()) == 2'642'245);
}

TEST_CASE("a loss: ssthresh is 0.7 of the window; W_max is the window, or less when it had not regained the last (fast convergence)") {
  Cubic c;
  CHECK(c.on_congestion(100 * kMss, kMss) == 70 * kMss);
  CHECK(c.w_max() == 100 * kMss);
  CHECK(c.on_congestion(80 * kMss, kMss) == 56 * kMss);
  CHECK(c.w_max() == 68 * kMss);  // 80 · (1 + 0.7) / 2
  CHECK(c.on_congestion(2 * kMss, kMss) == 2 * kMss);  // never below two segments
}

TEST_CASE("the curve: from 0.7 W_max, back to W_max at K = (0.3 W_max / C)^(1/3), flat there, then growing") {
  Cubic c;
  c.on_congestion(100 * kMss, kMss);
  // The first ACK in congestion avoidance starts the epoch at 70 segments: K = (30 / 0.4)^(1/3) s.
  std::uint32_t cwnd = c.on_ack(70 * kMss, kMss, kMss, kStart, Duration{0});
  CHECK(c.k_ms() == 4217);
  CHECK(c.window_at(0, kMss) / kMss == 70);    // W_max − C·K³ = 100 − 0.4 · 75
  CHECK(c.window_at(4217, kMss) / kMss == 100);
  CHECK(c.window_at(4217 + 1000, kMss) == 100 * kMss + 400);  // + C · 1 s³ = 0.4 segments
  CHECK(c.window_at(4217 - 1000, kMss) == 100 * kMss - 400);
  // Steps of a window's worth of ACKs, one 100 ms round trip apart: fast growth first (concave),
  // slow near W_max, faster again past it (convex).
  std::uint32_t previous = cwnd;
  std::uint32_t early_growth = 0, plateau_growth = 0, late_growth = 0;
  for (int rtt = 1; rtt <= 80; ++rtt) {
    const Instant now = kStart + std::chrono::milliseconds(100 * rtt);
    const std::uint32_t acks = cwnd / kMss;
    for (std::uint32_t i = 0; i < acks; ++i) cwnd = c.on_ack(cwnd, kMss, kMss, now, std::chrono::milliseconds(100));
    const std::uint32_t grew = cwnd - previous;
    previous = cwnd;
    if (rtt <= 5) early_growth += grew;
    if (rtt >= 41 && rtt <= 45) plateau_growth += grew;  // t ≈ K
    if (rtt >= 76) late_growth += grew;
  }
  CHECK(early_growth > 2 * plateau_growth);
  CHECK(late_growth > 2 * plateau_growth);
  CHECK(cwnd > 100 * kMss);  // 8 s after the loss: past W_max
}

TEST_CASE("far behind the curve, the window grows by at most half a window per window of ACKs (RFC 9438 4.2)") {
  Cubic c;
  c.on_congestion(100 * kMss, kMss);
  std::uint32_t cwnd = c.on_ack(70 * kMss, kMss, kMss, kStart, Duration{0});
  // 20 s later (say the ACKs were stalled): the curve is at 1,677 segments, the window at 70.
  const Instant later = kStart + std::chrono::seconds(20);
  CHECK(c.window_at(20'000, kMss) > 1600 * kMss);
  for (int i = 0; i < 70; ++i) cwnd = c.on_ack(cwnd, kMss, kMss, later, Duration{0});
  CHECK(cwnd > 100 * kMss);
  CHECK(cwnd <= 70 * kMss * 3 / 2 * 3 / 2);  // each step at most half of the window then
}

TEST_CASE("short round trips, small windows: the Reno-friendly estimate leads (RFC 9438 4.3)") {
  Cubic c;
  c.on_congestion(10 * kMss, kMss);
  std::uint32_t cwnd = 7 * kMss;
  // 1 ms round trips for 1 s: the cubic curve barely moves in that time (K is 1.96 s); Reno's
  // α = 9/17 segment per round trip adds about 0.53 · 1000 segments' worth.
  for (int rtt = 0; rtt < 1000; ++rtt) {
    const Instant now = kStart + std::chrono::milliseconds(rtt);
    const std::uint32_t acks = cwnd / kMss;
    for (std::uint32_t i = 0; i < acks; ++i) cwnd = c.on_ack(cwnd, kMss, kMss, now, std::chrono::milliseconds(1));
  }
  CHECK(cwnd > 100 * kMss);
  CHECK(c.window_at(999, kMss) < 10 * kMss);  // where the curve alone would be
}

}  // namespace
}  // namespace pollstack::net
