// Misuse is loud in debug builds: these run the misuse in a child process and expect it to abort.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include "statemachines/hosted/block_on.h"
#include "statemachines/join.h"
#include "statemachines/map.h"
#include "tests/statemachines/test_machines.h"

namespace pollstack {
namespace {

// Runs `misuse` in a forked child; true if the child died of SIGABRT.
template <class F>
bool aborts(F misuse) {
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    std::freopen("/dev/null", "w", stderr);  // keep the expected message out of the test log
    misuse();
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

TEST_CASE("polling a machine after Ready aborts in debug builds") {
  if (!kContractChecks) return;  // release build: the check compiles away by design
  CHECK(aborts([] {
    testing::Immediate m(1);
    testing::ManualContext cx{Waker()};
    (void)m.poll(cx);
    (void)m.poll(cx);
  }));
  CHECK(aborts([] {
    auto m = map(testing::Immediate(1), [](int x) { return x; });
    block_on(m);
    testing::ManualContext cx{Waker()};
    (void)m.poll(cx);
  }));
  CHECK(aborts([] {
    auto j = join(testing::Immediate(1), testing::Immediate(2));
    block_on(j);
    testing::ManualContext cx{Waker()};
    (void)j.poll(cx);
  }));
}

TEST_CASE("reading the value of a Pending poll aborts in debug builds") {
  if (!kContractChecks) return;
  CHECK(aborts([] {
    Poll<int> p = pending;
    (void)p.value();
  }));
}

TEST_CASE("correct use does not abort") { CHECK_FALSE(aborts([] { block_on(testing::Countdown(2)); })); }

}  // namespace
}  // namespace pollstack
