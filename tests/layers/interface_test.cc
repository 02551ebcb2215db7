// The interface under the portable Executor with a test clock: the runtime, not a hand-written
// loop, drives the receive task's timers and the application's send.
#include "layers/interface.h"

#include <doctest/doctest.h>

#include <optional>

#include "statemachines/executor.h"
#include "tests/layers/fake_channel.h"
#include "tests/layers/interface_fixture.h"
#include "tests/layers/peer.h"

namespace pollstack::net {
namespace {

using testing::FakeChannel;
using testing::kOurIp;
using testing::kOurMac;
using testing::Sent;

constexpr wire::Ipv4Address kSilentHost{{10, 0, 0, 77}};

TEST_CASE("under the Executor, a send to a silent host fails with kHostUnreachable after the ARP retries") {
  FakeChannel channel;
  Interface<FakeChannel> iface(channel, {kOurMac, {kOurIp, 24, {}, kDefaultTtl}});
  const UdpSocketId socket = iface.udp().bind(4000).value();
  const testing::Bytes payload = testing::text("anyone there?");
  ManualClock clock(Instant{Duration{7'000'000}});
  const Instant start = clock.now();
  Executor ex{iface.task(), iface.udp().send_to(socket, {kSilentHost, 9}, payload)};

  std::size_t requests = 0;
  std::optional<Instant> last_request;
  for (int turn = 0; turn < 100 && !ex.is_done(1); ++turn) {
    ex.run_ready(clock.now());
    while (std::optional<testing::Bytes> frame = channel.take_sent()) {
      const Sent sent = Sent::decode(*frame);
      REQUIRE(sent.arp.has_value());  // nothing but ARP may leave while the host is unresolved
      CHECK(sent.arp->operation == wire::arp_operation::kRequest);
      CHECK(sent.arp->target_ip == kSilentHost);
      if (last_request) CHECK(clock.now() - *last_request == kArpRetryInterval);
      last_request = clock.now();
      ++requests;
    }
    if (ex.has_woken() || ex.is_done(1)) continue;
    // Nothing to do until a timer: the executor says when, and the test's clock jumps there.
    REQUIRE(ex.next_deadline() != kNever);  // a task waiting on time without asking would hang
    clock.advance_to(ex.next_deadline());
  }
  REQUIRE(ex.is_done(1));
  REQUIRE_FALSE(ex.output<1>().value().ok());
  CHECK(ex.output<1>().value().error() == SendError::kHostUnreachable);
  CHECK(requests == kArpMaxRequests);
  CHECK(clock.now() - start == kArpMaxRequests * kArpRetryInterval);
  CHECK(iface.arp().neighbours().counters().failed == 1);
  CHECK_FALSE(ex.is_done(0));  // the receive task runs on
}

// A configuration for a small device: what an embedder writes to fit a NIC with few buffers.
struct TinyConfig : DefaultConfig {
  static constexpr std::size_t kUdpSockets = 2;
  static constexpr std::size_t kUdpReceiveQueueDepth = 2;
  static constexpr std::size_t kNeighbourCacheEntries = 4;
};

struct TinyDevice : FakeChannel {
  static constexpr std::size_t kRxBuffers = 8;
};

TEST_CASE("a stack's capacities come from its configuration, checked against its device") {
  static_assert(Nic<TinyDevice>);
  // The defaults would let 64 queued datagrams hold a device with 8 receive buffers; they do not
  // compile (Interface's static_assert). A configuration sized for the device does.
  TinyDevice device;
  Interface<TinyDevice, TinyConfig> iface(device, {kOurMac, {kOurIp, 24, {}, kDefaultTtl}});
  CHECK(iface.udp().bind(1).ok());
  CHECK(iface.udp().bind(2).ok());
  CHECK(iface.udp().bind(3).error() == BindError::kTableFull);
  CHECK(sizeof(Interface<TinyDevice, TinyConfig>) < sizeof(Interface<FakeChannel>));
}

}  // namespace
}  // namespace pollstack::net
