#pragma once
/// SteadyClock: the Clock of hosted builds, CLOCK_MONOTONIC at microsecond resolution.

#include <chrono>

#include "statemachines/clock.h"

namespace pollstack {

struct SteadyClock {
  static Instant now() noexcept {
    const auto since_boot = std::chrono::steady_clock::now().time_since_epoch();
    return Instant(std::chrono::duration_cast<Duration>(since_boot));
  }
};
static_assert(Clock<SteadyClock>);

}  // namespace pollstack
