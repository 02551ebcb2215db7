// The core runs with the heap forbidden: any operator new inside ForbidHeap aborts the binary.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "statemachines/hosted/block_on.h"
#include "statemachines/executor.h"
#include "statemachines/hosted/run.h"
#include "statemachines/join.h"
#include "statemachines/map.h"
#include "statemachines/select.h"
#include "statemachines/then.h"
#include "tests/statemachines/test_machines.h"
#include "tools/heap_probe/heap_probe.h"

namespace pollstack {
namespace {

TEST_CASE("combinators, executor and block_on allocate nothing") {
  testing::Gate gate;
  const auto before = heap_probe::thread_counts();
  int composed_output = 0;
  int blocked_output = 0;
  {
    // No doctest assertions in here: they may allocate to format messages.
    heap_probe::ForbidHeap forbid;
    auto composed = then(
        join(testing::Countdown(2), map(testing::Immediate(5), [](int x) { return x; })),
        [&gate](Joined<int, int> j) { return testing::TakeFromGate(gate, j.second); });
    Executor ex{std::move(composed), select(testing::Countdown(1), testing::Immediate(0))};
    ex.run_ready(Instant{});
    gate.give();
    run(ex);
    composed_output = ex.output<0>().value();
    blocked_output = block_on(testing::Countdown(4));
  }
  CHECK(heap_probe::thread_counts().allocations == before.allocations);
  CHECK(composed_output == 5);
  CHECK(blocked_output == 5);
}

TEST_CASE("the heap probe counts allocations") {
  const auto before = heap_probe::thread_counts();
  int* volatile p = new int(1);  // volatile: the compiler may not elide the new/delete pair
  delete p;
  CHECK(heap_probe::thread_counts().allocations == before.allocations + 1);
  CHECK(heap_probe::thread_counts().bytes == before.bytes + sizeof(int));
}

TEST_CASE("an allocation inside ForbidHeap aborts") {
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    std::freopen("/dev/null", "w", stderr);
    heap_probe::ForbidHeap forbid;
    int* volatile p = new int(1);
    delete p;
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGABRT);
}

#if !defined(__SANITIZE_ADDRESS__)
TEST_CASE("a direct malloc is counted, and aborts inside ForbidHeap") {
  const auto before = heap_probe::thread_counts();
  void* volatile p = std::malloc(16);
  std::free(p);
  CHECK(heap_probe::thread_counts().mallocs == before.mallocs + 1);
  CHECK(heap_probe::thread_counts().allocations == before.allocations);

  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    heap_probe::ForbidHeap forbid;
    void* volatile q = std::malloc(16);
    std::free(q);
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGABRT);
}
#endif

}  // namespace
}  // namespace pollstack
