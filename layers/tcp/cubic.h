#pragma once
/// Cubic: the congestion window of RFC 9438 (CUBIC, Linux's default), for one connection, in
/// integers: no floating point (a Cortex-M4 build has none in hardware), bounded work per ACK.
///
/// After a congestion event the window is cut to β = 0.7 of what it was (W_max) and then grows
/// along W_cubic(t) = C·(t − K)³ + W_max, C = 0.4 segments/s³: fast while far below W_max,
/// flat near it (where the last loss was), fast again beyond it (probing for more). K is when
/// the curve comes back to W_max. Where Reno would have grown faster (short round trips, small
/// windows), the Reno-friendly estimate W_est wins (RFC 9438 §4.3). Slow start below ssthresh,
/// the recoveries and the timeouts stay Tcp's (RFC 5681, 6582, 6675); this decides ssthresh at
/// a congestion event and the growth in congestion avoidance.
///
/// Units: windows in bytes, times in milliseconds (a µs Duration divided on entry), C and β as
/// the fractions 4/10 and 7/10; the cube is taken of at most 100 s either side of K, so the
/// arithmetic fits 64 bits with any MSS.

#include <algorithm>
#include <cstdint>

#include "statemachines/clock.h"

namespace pollstack::net {

class Cubic {
 public:
  static constexpr std::uint32_t kBetaTenths = 7;           // β_cubic = 0.7
  static constexpr std::int64_t kMaxDistanceMs = 100'000;   // |t − K| taken at most this far

  /// A congestion event (fast retransmit, SACK recovery, timeout) with the window at `cwnd`:
  /// remembers W_max (lowered further if the window had not regained the last one: fast
  /// convergence, §4.7, which lets a new flow take its share) and returns the new ssthresh,
  /// β·cwnd, at least two segments (§4.6; Linux also takes cwnd, not the flight).
  std::uint32_t on_congestion(std::uint32_t cwnd, std::uint32_t mss) noexcept {
    w_max_ = cwnd < w_max_ ? static_cast<std::uint32_t>(std::uint64_t{cwnd} * (10 + kBetaTenths) / 20) : cwnd;
    epoch_started_ = false;
    return std::max<std::uint32_t>(static_cast<std::uint32_t>(std::uint64_t{cwnd} * kBetaTenths / 10), 2 * mss);
  }

  /// Congestion avoidance: `acked` bytes newly acknowledged at `now`, the window at `cwnd`, the
  /// smoothed round trip `srtt`. Returns the new window (never smaller: the curve's target is
  /// clamped to [cwnd, 1.5·cwnd], §4.2).
  std::uint32_t on_ack(std::uint32_t cwnd, std::uint32_t acked, std::uint32_t mss, Instant now, Duration srtt) noexcept {
    if (!epoch_started_) {
      // A new epoch (§4.2): K from how far below W_max the window starts; at or above it, the
      // curve starts at its plateau (K = 0) from here.
      epoch_started_ = true;
      epoch_start_ = now;
      if (cwnd < w_max_) {
        k_ms_ = cube_root(std::uint64_t{w_max_ - cwnd} * 2'500'000'000ULL / mss);  // ((W_max − cwnd)/(C·mss))^(1/3) s, in ms
      } else {
        k_ms_ = 0;
        w_max_ = cwnd;
      }
      w_est_ = cwnd;
    }
    const std::int64_t t_ms = (now - epoch_start_).count() / 1000;
    // The Reno-friendly estimate grows by α = 3(1 − β)/(1 + β) = 9/17 segments per window (§4.3).
    w_est_ = static_cast<std::uint32_t>(std::min<std::uint64_t>(
        w_est_ + std::uint64_t{9} * mss * acked / (std::uint64_t{17} * cwnd), std::uint32_t{1} << 31));
    if (window_at(t_ms, mss) < w_est_) return std::max(cwnd, w_est_);
    // Aim where the curve will be one round trip from now, at most half as much again (§4.2).
    const std::uint64_t target = std::clamp<std::uint64_t>(window_at(t_ms + srtt.count() / 1000, mss), cwnd,
                                                           std::uint64_t{cwnd} * 3 / 2);
    return cwnd + static_cast<std::uint32_t>((target - cwnd) * acked / cwnd);
  }

  /// W_cubic at `t_ms` into the epoch, in bytes (0 at the least).
  std::uint64_t window_at(std::int64_t t_ms, std::uint32_t mss) const noexcept {
    const std::int64_t d = std::clamp<std::int64_t>(t_ms - static_cast<std::int64_t>(k_ms_), -kMaxDistanceMs, kMaxDistanceMs);
    // C·mss·d³ with d in ms: (d³ / 1000) · mss / 2,500,000 (C = 0.4 /s³ = 4e-10 /ms³).
    const std::int64_t cube = d * d * d / 1000;
    const std::int64_t w = static_cast<std::int64_t>(w_max_) + cube * static_cast<std::int64_t>(mss) / 2'500'000;
    return w < 0 ? 0 : static_cast<std::uint64_t>(w);
  }

  std::uint32_t w_max() const noexcept { return w_max_; }
  std::uint32_t k_ms() const noexcept { return k_ms_; }

  /// ⌊x^(1/3)⌋ by bisection: 22 steps at most (x < 2^64).
  static constexpr std::uint32_t cube_root(std::uint64_t x) noexcept {
    std::uint64_t low = 0;
    std::uint64_t high = 2'642'245;  // ⌊(2^64 − 1)^(1/3)⌋: its cube does not overflow
    while (low < high) {
      const std::uint64_t mid = (low + high + 1) / 2;
      if (mid * mid * mid <= x) {
        low = mid;
      } else {
        high = mid - 1;
      }
    }
    return static_cast<std::uint32_t>(low);
  }

 private:
  std::uint32_t w_max_ = 0;
  std::uint32_t w_est_ = 0;
  std::uint32_t k_ms_ = 0;
  bool epoch_started_ = false;
  Instant epoch_start_{};
};

}  // namespace pollstack::net
