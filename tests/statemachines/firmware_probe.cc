// Instantiates the whole core the way a firmware image would, compiled with -fno-exceptions and
// -fno-rtti (see BUILD.bazel). no_heap_check.sh then reads the object files with nm and fails if
// anything here or in //statemachines refers to the heap, exceptions or RTTI.
#include "statemachines/hosted/block_on.h"
#include "statemachines/executor.h"
#include "statemachines/hosted/run.h"
#include "statemachines/join.h"
#include "statemachines/map.h"
#include "statemachines/select.h"
#include "statemachines/then.h"
#include "tests/statemachines/test_machines.h"

namespace pollstack::testing {

int firmware_probe_run(Gate& gate) {
  auto composed = then(join(Countdown(2), map(Immediate(5), [](int x) { return x + 1; })),
                       [&gate](Joined<int, int> j) { return TakeFromGate(gate, j.second); });
  Executor ex{std::move(composed), select(Countdown(1), Immediate(0))};
  ex.run_ready(Instant{});
  gate.give();
  run(ex);
  return ex.output<0>().value() + block_on(Countdown(3));
}

}  // namespace pollstack::testing
