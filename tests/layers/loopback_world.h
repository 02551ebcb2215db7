#pragma once
// LoopbackWorld: the whole stack over the real driver channel, with the loopback driver stepped in
// the same thread: every frame the stack sends comes back to it, so the stack talks to itself
// through real shared-memory rings, buffers and the ledger.
//
// run() is a strict owner: it polls a task only when that task was woken (or its deadline came),
// steps the driver and services the channel when no task is runnable, jumps the clock to the next
// deadline when nothing else can happen, and fails the test if nothing is woken and no deadline
// is pending (a missing wake-up would hang a real program; here it fails).

#include <doctest/doctest.h>

#include <optional>
#include <utility>

#include "driver_channel/driver_port.h"
#include "driver_channel/loopback.h"
#include "driver_channel/region.h"
#include "driver_channel/stack_channel.h"
#include "driver_channel/stack.h"
#include "statemachines/state_machine.h"

namespace pollstack::net::testing {

inline constexpr wire::MacAddress kLoopMac{{2, 0, 0, 0, 0, 0x10}};
inline constexpr wire::Ipv4Address kLoopIp{{10, 9, 0, 1}};

struct LoopbackWorld {
  LoopbackWorld() : region(make_region()), channel(region), port(region, nullptr), loopback(port) {}

  static driver_channel::SharedRegion make_region() {
    int error = 0;
    std::optional<driver_channel::SharedRegion> r = driver_channel::SharedRegion::create(&error);
    REQUIRE(r.has_value());
    return std::move(*r);
  }

  driver_channel::SharedRegion region;
  driver_channel::StackChannel channel;
  driver_channel::DriverPort port;
  driver_channel::Loopback loopback;
  // The loopback driver reflects our frames: we talk to ourselves, so our own source is accepted.
  Stack iface{channel, {kLoopMac, {kLoopIp, 24, {}, kDefaultTtl, kMtu, /*accept_local=*/true}}};
  Stack::Task task = iface.task();
  Instant now{Duration{1'000'000}};
  std::uint64_t rounds = 0;
  // The wake flags the wakers of run() point to: members, not run()'s locals, because an
  // operation left waiting when one run() returns keeps its waker, and may be woken between runs
  // or in the next one (a listener closed, a reset arriving).
  bool app_woken = true;
  bool task_woken = true;

  /// Runs `app` and the interface task until `app` completes; nullopt (and a failed check) if the
  /// world stalls.
  template <StateMachine M>
  std::optional<OutputOf<M>> run(M& app, std::uint64_t max_rounds = 10'000'000) {
    app_woken = true;
    task_woken = true;
    Instant app_deadline = kNever;
    Instant task_deadline = kNever;
    const auto flag = +[](void* p) noexcept { *static_cast<bool*>(p) = true; };
    for (std::uint64_t r = 0; r < max_rounds; ++r, ++rounds) {
      if (app_deadline <= now) app_woken = true;
      if (task_deadline <= now) task_woken = true;
      if (app_woken) {
        app_woken = false;
        app_deadline = kNever;
        Context cx(Waker(flag, &app_woken), now, app_deadline);
        Poll<OutputOf<M>> done = app.poll(cx);
        if (done.is_ready()) return std::move(done).value();
      }
      if (task_woken) {
        task_woken = false;
        task_deadline = kNever;
        Context cx(Waker(flag, &task_woken), now, task_deadline);
        if (task.poll(cx).is_ready()) {
          FAIL("the interface task stopped: link down");
          return std::nullopt;
        }
      }
      if (app_woken || task_woken) continue;
      const bool moved = loopback.step() > 0;
      channel.service();
      if (app_woken || task_woken || moved) continue;
      const Instant next = std::min(app_deadline, task_deadline);
      if (next == kNever) {
        FAIL("stalled: no task woken, no frame moving, no deadline pending");
        return std::nullopt;
      }
      now = next;
    }
    FAIL("did not finish within the round limit");
    return std::nullopt;
  }
};

}  // namespace pollstack::net::testing
