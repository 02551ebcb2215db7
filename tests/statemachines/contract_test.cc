// Misuse is loud in debug builds: these run the misuse in a child process and expect it to abort.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include "statemachines/hosted/block_on.h"
#include "statemachines/join.h"
#include "statemachines/map.h"
#include "statemachines/state_cell.h"
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

// A machine whose table leaves an edge out, and a door to take it anyway (a mutation of the kind
// a careless edit makes: a state change the diagram does not show).
class Stepper {
 public:
  enum class State : std::uint8_t { First, Second, Done };
  static constexpr auto kTransitions = transitions(State::First, {
      {State::First, State::Second, "step"},
      {State::Second, State::Done, "step"},
  });
  explicit Stepper(State initial = State::First) : state_(initial) {}
  void go(State next) { state_.set(next); }

 private:
  StateCell<Stepper, &kTransitions> state_;
};

TEST_CASE("a state change not declared in the machine's kTransitions aborts in debug builds") {
  if (!kContractChecks) return;
  CHECK_FALSE(aborts([] {
    Stepper m;
    m.go(Stepper::State::Second);
    m.go(Stepper::State::Done);
  }));
  CHECK(aborts([] { Stepper().go(Stepper::State::Done); }));            // First -> Done: not declared
  CHECK(aborts([] { Stepper().go(Stepper::State::First); }));           // a self-loop is an edge too
  CHECK(aborts([] { Stepper m(Stepper::State::Second); (void)m; }));     // not an initial state
}

TEST_CASE("correct use does not abort") { CHECK_FALSE(aborts([] { block_on(testing::Countdown(2)); })); }

}  // namespace
}  // namespace pollstack
