#pragma once
/// Time for state machines. A task's owner reads its clock once per poll and hands the reading in
/// through Context, so a machine never calls a clock itself: tests drive time exactly, firmware
/// plugs in whatever timer it has, and one poll sees one consistent "now".
///
/// Millisecond resolution is what the protocols here need (ARP retries and expiry, ICMP rate
/// limits); a 64-bit count of them never wraps.

#include <chrono>

namespace pollstack {

using Duration = std::chrono::milliseconds;

/// A point on the owner's monotonic clock. Only differences between Instants mean anything.
using Instant = std::chrono::time_point<std::chrono::steady_clock, Duration>;

/// "No deadline": later than every Instant a clock will return.
inline constexpr Instant kNever = Instant::max();

}  // namespace pollstack
