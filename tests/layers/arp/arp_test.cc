// The ARP layer over the Ethernet layer and a fake channel, against a fake neighbour.
#include "layers/arp/arp.h"

#include <doctest/doctest.h>

#include "layers/ethernet/ethernet.h"
#include "tests/layers/fake_channel.h"
#include "tests/layers/peer.h"

namespace pollstack::net {
namespace {

using testing::Driver;
using testing::FakeChannel;
using testing::Peer;
using wire::Ipv4Address;
using wire::MacAddress;
namespace op = wire::arp_operation;

constexpr MacAddress kOurMac{{2, 0, 0, 0, 0, 1}};
constexpr Ipv4Address kOurIp{{10, 0, 0, 1}};
const Peer kPeer{{{2, 0, 0, 0, 0, 2}}, {{10, 0, 0, 2}}};

struct Fixture {
  FakeChannel channel;
  Ethernet<FakeChannel> eth{channel, kOurMac};
  Arp<Ethernet<FakeChannel>> arp{eth, kOurIp};
  Driver d;

  std::optional<wire::ArpRepr> receive(const testing::Bytes& frame) {
    const auto link = eth.accept(frame);
    REQUIRE(link.has_value());
    return arp.on_packet(link->payload, d.now);
  }
};

TEST_CASE("a request for our address is answered, and its sender learned") {
  Fixture f;
  const auto reply = f.receive(kPeer.arp(op::kRequest, MacAddress::broadcast(), {}, kOurIp));
  REQUIRE(reply.has_value());
  CHECK(reply->operation == op::kReply);
  CHECK(reply->sender_mac == kOurMac);
  CHECK(reply->sender_ip == kOurIp);
  CHECK(reply->target_mac == kPeer.mac);
  CHECK(reply->target_ip == kPeer.ip);
  CHECK(f.arp.neighbours().resolve_now(kPeer.ip, f.d.now).value() == kPeer.mac);
  CHECK(f.arp.counters().requests_received == 1);
}

TEST_CASE("a request for another address is neither answered nor learned") {
  Fixture f;
  CHECK_FALSE(f.receive(kPeer.arp(op::kRequest, MacAddress::broadcast(), {}, {{10, 0, 0, 77}})).has_value());
  CHECK(f.arp.neighbours().state_of(kPeer.ip) == NeighbourState::kFree);
  CHECK(f.arp.counters().dropped[ArpDrop::kNotForUs] == 1);
}

TEST_CASE("gratuitous ARP updates a known neighbour and does not create unknown ones") {
  Fixture f;
  f.receive(kPeer.arp(op::kRequest, MacAddress::broadcast(), {}, kOurIp));  // learn the peer
  Peer moved = kPeer;
  moved.mac = {{2, 0, 0, 0, 0, 0x22}};
  CHECK_FALSE(f.receive(moved.arp(op::kRequest, MacAddress::broadcast(), {}, moved.ip)).has_value());
  CHECK(f.arp.neighbours().resolve_now(kPeer.ip, f.d.now).value() == moved.mac);
  const Peer stranger{{{2, 0, 0, 0, 0, 3}}, {{10, 0, 0, 3}}};
  f.receive(stranger.arp(op::kReply, MacAddress::broadcast(), MacAddress::broadcast(), stranger.ip));
  CHECK(f.arp.neighbours().state_of(stranger.ip) == NeighbourState::kFree);
  CHECK(f.arp.counters().gratuitous_received == 2);
}

TEST_CASE("someone claiming our address is counted, never learned or answered") {
  Fixture f;
  const Peer thief{{{2, 0, 0, 0, 0, 6}}, kOurIp};
  CHECK_FALSE(f.receive(thief.arp(op::kRequest, MacAddress::broadcast(), {}, kOurIp)).has_value());
  CHECK(f.arp.counters().dropped[ArpDrop::kAddressConflict] == 1);
  const Peer broadcaster{MacAddress::broadcast(), {{10, 0, 0, 9}}};
  CHECK_FALSE(f.receive(broadcaster.arp(op::kRequest, MacAddress::broadcast(), {}, kOurIp)).has_value());
  CHECK(f.arp.counters().dropped[ArpDrop::kBadSender] == 1);
}

TEST_CASE("an address probe (sender 0.0.0.0) for our address is answered but not learned") {
  Fixture f;
  const Peer prober{{{2, 0, 0, 0, 0, 7}}, {}};
  const auto reply = f.receive(prober.arp(op::kRequest, MacAddress::broadcast(), {}, kOurIp));
  REQUIRE(reply.has_value());
  CHECK(reply->target_mac == prober.mac);
  CHECK(f.arp.neighbours().state_of(Ipv4Address{}) == NeighbourState::kFree);
}

TEST_CASE("malformed ARP packets are counted by reason") {
  Fixture f;
  testing::Bytes truncated(20);
  CHECK_FALSE(f.arp.on_packet(truncated, f.d.now).has_value());
  testing::Bytes not_ipv4(wire::kArpPacketBytes);
  wire::emit_arp({op::kRequest, kPeer.mac, kPeer.ip, {}, kOurIp}, not_ipv4);
  not_ipv4[3] = std::byte{0xdd};  // protocol type 0x08dd
  CHECK_FALSE(f.arp.on_packet(not_ipv4, f.d.now).has_value());
  CHECK(f.arp.counters().malformed[wire::ArpError::kTruncated] == 1);
  CHECK(f.arp.counters().malformed[wire::ArpError::kNotEthernetIpv4] == 1);
}

TEST_CASE("a send waits for resolution, then goes out to the resolved MAC") {
  Fixture f;
  auto send = f.arp.send(kPeer.ip, wire::ethertype::kIpv4, ResolvePolicy::kWait);
  CHECK(f.d.poll(send).is_pending());
  CHECK(f.channel.sent_count() == 0);  // nothing reserved while resolving
  CHECK(f.arp.neighbours().take_due_request(f.d.now) == kPeer.ip);

  f.receive(kPeer.arp(op::kReply, kOurMac, kOurMac, kOurIp));
  CHECK(f.d.wakes == 1);
  auto frame = f.d.poll(send);
  REQUIRE(frame.is_ready());
  REQUIRE(frame.value().ok());
  CHECK(frame.value().value().payload_offset() == wire::kEthernetHeaderBytes);
  CHECK(frame.value().value().submit(28));
  const auto sent = wire::parse_ethernet(*f.channel.take_sent());
  CHECK(sent.repr().destination == kPeer.mac);
  CHECK(sent.repr().source == kOurMac);
}

TEST_CASE("a reply-style send never waits: unresolved is an error, and starts resolution") {
  Fixture f;
  auto send = f.arp.send(kPeer.ip, wire::ethertype::kIpv4, ResolvePolicy::kCachedOnly);
  auto p = f.d.poll(send);
  REQUIRE(p.is_ready());
  CHECK(p.value().error() == SendError::kNeighbourUnresolved);
  CHECK(f.arp.neighbours().has_due_request());
}

TEST_CASE("the link's backpressure passes through: Pending while the channel is full") {
  Fixture f;
  f.receive(kPeer.arp(op::kRequest, MacAddress::broadcast(), {}, kOurIp));
  f.channel.set_tx_slots(0);
  auto send = f.arp.send(kPeer.ip, wire::ethertype::kIpv4, ResolvePolicy::kWait);
  CHECK(f.d.poll(send).is_pending());
  CHECK(f.d.poll(send).is_pending());
  CHECK(f.eth.counters().send_pending == 2);
  f.channel.set_tx_slots(1);
  CHECK(f.d.wakes >= 1);
  CHECK(f.d.poll(send).is_ready());
}

}  // namespace
}  // namespace pollstack::net
