// Built with POLLSTACK_TRACE_TRANSITIONS (see BUILD.bazel): every state change is observable.
#include "statemachines/transition_trace.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "statemachines/hosted/block_on.h"
#include "statemachines/map.h"
#include "statemachines/then.h"
#include "tests/statemachines/test_machines.h"

namespace pollstack {
namespace {

std::vector<std::string> g_seen;

void record(const Transition& t) noexcept {
  g_seen.push_back(std::string(t.machine) + ": " + std::string(t.from) + " -> " +
                   std::string(t.to));
}

TEST_CASE("tracing reports each transition with machine and state names") {
  static_assert(kTraceTransitions, "this suite must be built with POLLSTACK_TRACE_TRANSITIONS");
  g_seen.clear();
  const TransitionObserver previous = set_transition_observer(&record);  // the coverage recorder's
  testing::Gate gate;
  auto t = then(testing::Immediate(1), [&gate](int x) { return testing::TakeFromGate(gate, x); });
  gate.give();
  block_on(t);
  set_transition_observer(previous);

  REQUIRE(g_seen.size() == 5);
  CHECK(g_seen[0] == "pollstack::testing::Immediate: Start -> Done");
  CHECK(g_seen[1].find("pollstack::Then<") == 0);
  CHECK(g_seen[1].find(": RunningFirst -> Building") != std::string::npos);
  CHECK(g_seen[2].find(": Building -> RunningSecond") != std::string::npos);
  CHECK(g_seen[3] == "pollstack::testing::TakeFromGate: Waiting -> Done");
  CHECK(g_seen[4].find(": RunningSecond -> Done") != std::string::npos);
}

TEST_CASE("no observer: transitions still happen, nothing is reported") {
  g_seen.clear();
  block_on(testing::Countdown(3));
  CHECK(g_seen.empty());
}

}  // namespace
}  // namespace pollstack
