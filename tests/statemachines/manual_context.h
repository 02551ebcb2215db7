#pragma once
// ManualContext: a Context with its own deadline record, for tests that poll machines by hand.
// Converts to Context&, so `machine.poll(cx)` reads as it does in product code.

#include "statemachines/context.h"

namespace pollstack::testing {

struct ManualContext {
  explicit ManualContext(const Waker& waker, Instant now = Instant{}) : cx(waker, now, deadline) {}
  ManualContext(const ManualContext&) = delete;
  ManualContext& operator=(const ManualContext&) = delete;

  operator Context&() { return cx; }
  const Waker& waker() const { return cx.waker(); }

  Instant deadline = kNever;  // declared first: cx refers to it
  Context cx;
};

}  // namespace pollstack::testing
