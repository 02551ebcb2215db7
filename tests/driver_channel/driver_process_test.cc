// The channel across a real process boundary: the loopback driver program attaches over a Unix
// socket (SCM_RIGHTS), is killed mid-stream, and a new one attaches.
#include <doctest/doctest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
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
constexpr const char* kPcapWriter = "tools/drivers/pcap_writer";

// An abstract socket: no file to clean up, and unique to this test process.
std::string socket_path() {
  static int next = 0;
  return "@pollstack-test-" + std::to_string(getpid()) + "-" + std::to_string(next++);
}

pid_t spawn_driver(const std::string& socket, const char* program = kLoopbackDriver,
                   const char* extra_flag = nullptr, const char* extra_value = nullptr) {
  const char* argv[] = {program, "--socket", socket.c_str(), extra_flag, extra_value, nullptr};
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, program, nullptr, nullptr, const_cast<char**>(argv), environ);
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

  // The rings start over before the new driver can see them: it starts reading as soon as it
  // is attached (reattaching after accept() raced with it, and lost under load).
  stack.channel.reattach();
  driver = spawn_driver(stack.path);
  lifeline = stack.accept();
  testing::Pump after{&stack.channel, 50000};
  CHECK(run_with_channel(after, stack.channel, stack.stack_bell, lifeline));
  CHECK(after.out_of_order == 0);
  close(lifeline);
  REQUIRE(waitpid(driver, &status, 0) == driver);
  CHECK(WIFEXITED(status));
  alarm(0);
}

TEST_CASE("the pcap writer captures every frame; tshark reads the capture") {
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string capture = std::string(dir ? dir : "/tmp") + "/frames.pcap";
  Stack stack;
  const pid_t driver = spawn_driver(stack.path, kPcapWriter, "--pcap", capture.c_str());
  const int lifeline = stack.accept();

  // 100 Ethernet frames: broadcast, from a locally administered MAC, EtherType 0x88b5 (local
  // experimental), then a sequence number; lengths vary from 60 to 1514 bytes.
  constexpr int kFrames = 100;
  struct SendFrames {
    using Output = bool;
    StackChannel* channel;
    int next = 0;
    std::optional<StackChannel::TxReservation> reserving{};
    Poll<bool> poll(Context& cx) {
      while (next < kFrames) {
        if (!reserving) reserving.emplace(*channel);
        Poll<ChannelResult<TxBuffer>> p = reserving->poll(cx);
        if (p.is_pending()) return pending;
        reserving.reset();
        if (!p.value().ok()) return false;
        TxBuffer tx = std::move(p.value().value());
        const unsigned char header[14] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x88, 0xb5};
        std::memset(tx.bytes().data(), 0, 1514);
        std::memcpy(tx.bytes().data(), header, sizeof header);
        std::memcpy(tx.bytes().data() + 14, &next, sizeof next);
        if (!tx.submit(static_cast<std::uint32_t>(60 + next * 14))) return false;
        ++next;
      }
      if (channel->counters().tx_completed == kFrames) return true;
      // Nothing here stores a waker while waiting for completions: yield, or we would sleep forever.
      cx.waker().wake();
      return pending;
    }
  };
  SendFrames sender{&stack.channel};
  CHECK(run_with_channel(sender, stack.channel, stack.stack_bell, lifeline));
  close(lifeline);
  int status = 0;
  REQUIRE(waitpid(driver, &status, 0) == driver);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);

  // Read it back ourselves: the global header, then each record's length and sequence number.
  std::FILE* f = std::fopen(capture.c_str(), "rb");
  REQUIRE(f != nullptr);
  std::uint32_t global[6];
  REQUIRE(std::fread(global, sizeof global, 1, f) == 1);
  CHECK(global[0] == 0xa1b2c3d4u);
  CHECK(global[5] == 1);  // Ethernet
  int records = 0;
  int mismatches = 0;
  std::uint32_t record[4];
  unsigned char frame[2048];
  while (std::fread(record, sizeof record, 1, f) == 1) {
    REQUIRE(record[2] <= sizeof frame);
    REQUIRE(std::fread(frame, record[2], 1, f) == 1);
    int sequence = -1;
    std::memcpy(&sequence, frame + 14, sizeof sequence);
    mismatches += sequence != records || record[2] != static_cast<std::uint32_t>(60 + records * 14);
    ++records;
  }
  std::fclose(f);
  CHECK(records == kFrames);
  CHECK(mismatches == 0);

  // An independent reader: tshark must see 100 Ethernet frames of EtherType 0x88b5.
  if (std::system("command -v tshark >/dev/null 2>&1") != 0) {
    MESSAGE("tshark is not installed: the independent check is SKIPPED (tools/setup.sh installs it)");
    return;
  }
  const std::string command = "tshark -r " + capture + " -T fields -e eth.type 2>/dev/null";
  std::FILE* p = popen(command.c_str(), "r");
  REQUIRE(p != nullptr);
  int lines = 0;
  int ethertype_ok = 0;
  char line[256];
  while (std::fgets(line, sizeof line, p) != nullptr) {
    ++lines;
    ethertype_ok += std::strncmp(line, "0x88b5", 6) == 0;
  }
  CHECK(pclose(p) == 0);
  CHECK(lines == kFrames);
  CHECK(ethertype_ok == kFrames);
}

}  // namespace
}  // namespace pollstack::driver_channel
