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

TEST_CASE("the address record changes for every layer at once; an invalid one is refused") {
  testing::InterfaceFixture f;
  f.meet();  // the neighbour is in the cache
  const UdpSocketId socket = f.iface.udp().bind(4000).value();
  REQUIRE(f.iface.arp().neighbours().state_of(testing::kPeer.ip) == NeighbourState::kReachable);

  Ipv4Config bad{{{127, 0, 0, 1}}, 8, {}, kDefaultTtl};
  CHECK(f.iface.set_ipv4_config(bad) == Ipv4ConfigError::kNotUnicast);
  bad = {{{10, 0, 0, 9}}, 24, {{10, 9, 9, 9}}, kDefaultTtl};
  CHECK(f.iface.set_ipv4_config(bad) == Ipv4ConfigError::kGatewayOffLink);
  bad = {{{10, 0, 0, 9}}, 24, {}, kDefaultTtl, 100};
  CHECK(f.iface.set_ipv4_config(bad) == Ipv4ConfigError::kMtuOutOfRange);
  CHECK(f.iface.ipv4_config().address == kOurIp);  // unchanged
  CHECK(f.iface.arp().neighbours().state_of(testing::kPeer.ip) == NeighbourState::kReachable);

  constexpr wire::Ipv4Address kNewIp{{10, 0, 0, 9}};
  CHECK_FALSE(f.iface.set_ipv4_config({kNewIp, 24, {}, kDefaultTtl}).has_value());
  CHECK(f.iface.counters().address_changes == 1);
  CHECK(f.iface.arp().neighbours().state_of(testing::kPeer.ip) == NeighbourState::kFree);
  CHECK(f.iface.arp().neighbours().counters().flushed == 1);

  // ARP answers for the new address only.
  f.receive(testing::kPeer.arp(wire::arp_operation::kRequest, wire::MacAddress::broadcast(), {}, kOurIp));
  CHECK(f.channel.sent_count() == 0);
  f.receive(testing::kPeer.arp(wire::arp_operation::kRequest, wire::MacAddress::broadcast(), {}, kNewIp));
  const Sent reply = f.sent();
  REQUIRE(reply.arp.has_value());
  CHECK(reply.arp->sender_ip == kNewIp);
  // IPv4 accepts the new address only.
  f.receive(testing::kPeer.udp(kOurMac, kOurIp, 5000, 4000, testing::text("old")));
  CHECK(f.iface.udp().queued(socket) == 0);
  f.receive(testing::kPeer.udp(kOurMac, kNewIp, 5000, 4000, testing::text("new")));
  CHECK(f.iface.udp().queued(socket) == 1);
  // A bound socket sends from the new address.
  const testing::Bytes payload = testing::text("hello");
  auto send = f.iface.udp().send_to(socket, {testing::kPeer.ip, 5000}, payload);
  REQUIRE(f.d.poll(send).is_ready());
  const Sent datagram = f.sent();
  REQUIRE(datagram.ip.has_value());
  CHECK(datagram.ip->source == kNewIp);
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

TEST_CASE("a stack's capacities come from its configuration (its fit to the device is a static_assert)") {
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
