// The channel across a real process boundary: the loopback driver program attaches over a Unix
// socket (SCM_RIGHTS), is killed mid-stream, and a new one attaches.
#include <doctest/doctest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>
#include <string>

#include "driver_channel/attach.h"
#include "driver_channel/io_loop.h"
#include "driver_channel/stack_channel.h"
#include "tests/driver_channel/pump.h"

extern char** environ;

namespace pollstack::driver_channel {
namespace {

// Bazel runs tests from the runfiles tree, where data dependencies sit at their package paths.
constexpr const char* kLoopbackDriver = "tools/drivers/loopback_driver";

// An abstract socket: no file to clean up, and unique to this test process.
std::string socket_path() {
  static int next = 0;
  return "@pollstack-test-" + std::to_string(getpid()) + "-" + std::to_string(next++);
}

pid_t spawn_driver(const std::string& socket) {
  const char* argv[] = {kLoopbackDriver, "--socket", socket.c_str(), nullptr};
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, kLoopbackDriver, nullptr, nullptr, const_cast<char**>(argv), environ);
  REQUIRE(rc == 0);
  return pid;
}

struct Stack {
  std::string path = socket_path();
  // Members are initialized in declaration order: path before the listener that binds it.
  Stack() : listener(listen()), region(create_region()), channel(*region, &driver_bell) {}

  DriverListener listen() {
    int error = 0;
    std::optional<DriverListener> l = DriverListener::listen(path.c_str(), &error);
    REQUIRE(l.has_value());
    return std::move(*l);
  }
  static std::optional<SharedRegion> create_region() {
    int error = 0;
    std::optional<SharedRegion> r = SharedRegion::create(&error);
    REQUIRE(r.has_value());
    return r;
  }
  int accept() {
    int error = 0;
    const int fd = listener.accept_driver(*region, driver_bell, stack_bell, 10000, &error);
    REQUIRE(fd >= 0);
    return fd;
  }

  DriverListener listener;
  std::optional<SharedRegion> region;
  Doorbell driver_bell;
  Doorbell stack_bell;
  StackChannel channel;
};

TEST_CASE("a loopback driver process returns every frame, in order") {
  Stack stack;
  const pid_t driver = spawn_driver(stack.path);
  const int lifeline = stack.accept();

  testing::Pump pump{&stack.channel, 200000};
  CHECK(run_with_channel(pump, stack.channel, stack.stack_bell, lifeline));
  CHECK(pump.out_of_order == 0);
  CHECK(stack.channel.ledger().counters().total_rejected() == 0);

  close(lifeline);  // the stack detaches: the driver sees its lifeline close and exits
  int status = 0;
  REQUIRE(waitpid(driver, &status, 0) == driver);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("a driver killed mid-stream is link down: no hang, no leaked buffer; a new driver attaches") {
  alarm(60);  // a hang fails the test instead of stalling the suite
  Stack stack;
  pid_t driver = spawn_driver(stack.path);
  int lifeline = stack.accept();

  testing::Pump doomed{&stack.channel, 1000000};
  doomed.on_received = [driver](std::uint32_t received) {
    if (received == 5000) kill(driver, SIGKILL);
  };
  CHECK_FALSE(run_with_channel(doomed, stack.channel, stack.stack_bell, lifeline));  // kLinkDown
  CHECK(doomed.received >= 5000);
  CHECK(doomed.received < 1000000);
  CHECK_FALSE(stack.channel.is_link_up());
  doomed.reserving.reset();
  doomed.receiving.reset();
  CHECK(stack.channel.ledger().free_count() == kBufferCount);  // every lent buffer reclaimed
  int status = 0;
  REQUIRE(waitpid(driver, &status, 0) == driver);
  CHECK(WIFSIGNALED(status));
  close(lifeline);

  driver = spawn_driver(stack.path);
  lifeline = stack.accept();
  stack.channel.reattach();
  testing::Pump after{&stack.channel, 50000};
  CHECK(run_with_channel(after, stack.channel, stack.stack_bell, lifeline));
  CHECK(after.out_of_order == 0);
  close(lifeline);
  REQUIRE(waitpid(driver, &status, 0) == driver);
  CHECK(WIFEXITED(status));
  alarm(0);
}

}  // namespace
}  // namespace pollstack::driver_channel
