#pragma once
/// Time for state machines. A task's owner reads its clock once per poll and hands the reading in
/// through Context, so a machine never calls a clock itself: tests drive time exactly, firmware
/// plugs in whatever timer it has, and one poll sees one consistent "now".
///
/// Microsecond resolution: TCP's round-trip estimation on a LAN needs it (a gigabit LAN's round
/// trip is tens of microseconds). A signed 64-bit count of microseconds wraps after 292,000 years.

#include <chrono>
#include <concepts>
#include <cstdint>

namespace pollstack {

using Duration = std::chrono::microseconds;

/// The clock Instants are measured on: a tag, not a source of time. Whatever the owner reads
/// (CLOCK_MONOTONIC, a SysTick counter, a test's hand) is converted to this; only differences
/// between Instants mean anything, and they never go backwards.
struct MonotonicClock {
  using rep = Duration::rep;
  using period = Duration::period;
  using duration = Duration;
  using time_point = std::chrono::time_point<MonotonicClock, Duration>;
  static constexpr bool is_steady = true;
};

/// A point on the owner's monotonic clock.
using Instant = MonotonicClock::time_point;

/// "No deadline": later than every Instant a clock will return.
inline constexpr Instant kNever = Instant::max();

/// A source of time for a task's owner: `now()` returns the current Instant, never less than the
/// one before. Hosted: hosted/steady_clock.h; firmware: a tick counter (see tools/firmware);
/// tests: ManualClock.
template <class C>
concept Clock = requires(C& c) {
  { c.now() } -> std::same_as<Instant>;
};

/// A clock that moves only when told to: for tests and simulations.
class ManualClock {
 public:
  constexpr explicit ManualClock(Instant start = Instant{}) noexcept : now_(start) {}
  constexpr Instant now() const noexcept { return now_; }
  constexpr void advance(Duration d) noexcept { now_ += d; }
  /// Moves to `t` (never backwards: an earlier `t` is ignored).
  constexpr void advance_to(Instant t) noexcept {
    if (t > now_) now_ = t;
  }

 private:
  Instant now_;
};

}  // namespace pollstack
