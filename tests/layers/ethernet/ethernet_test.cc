// The Ethernet layer alone over a fake channel.
#include "layers/ethernet/ethernet.h"

#include <doctest/doctest.h>

#include "tests/layers/fake_channel.h"
#include "tests/layers/peer.h"

namespace pollstack::net {
namespace {

using testing::Driver;
using testing::FakeChannel;
using testing::Peer;
using wire::MacAddress;

constexpr MacAddress kOurMac{{2, 0, 0, 0, 0, 1}};
const Peer kPeer{{{2, 0, 0, 0, 0, 2}}, {{10, 0, 0, 2}}};

TEST_CASE("a send reserves a buffer and writes our header; the payload follows it") {
  FakeChannel channel;
  Ethernet<FakeChannel> eth(channel, kOurMac);
  Driver d;
  auto send = eth.send(kPeer.mac, wire::ethertype::kIpv4);
  auto p = d.poll(send);
  REQUIRE(p.is_ready());
  REQUIRE(p.value().ok());
  auto& frame = p.value().value();
  CHECK(frame.payload_offset() == wire::kEthernetHeaderBytes);
  frame.payload()[0] = std::byte{0xab};
  CHECK(frame.submit(1));
  const testing::Bytes sent = *channel.take_sent();
  REQUIRE(sent.size() == 15);
  const auto h = wire::parse_ethernet(sent);
  CHECK(h.repr().destination == kPeer.mac);
  CHECK(h.repr().source == kOurMac);
  CHECK(h.repr().ethertype == wire::ethertype::kIpv4);
  CHECK(sent[14] == std::byte{0xab});
  CHECK(eth.counters().frames_built == 1);
}

TEST_CASE("a full channel makes the send Pending until a buffer frees; link down ends it") {
  FakeChannel channel;
  Ethernet<FakeChannel> eth(channel, kOurMac);
  Driver d;
  channel.set_tx_slots(0);
  auto send = eth.send(kPeer.mac, wire::ethertype::kArp);
  CHECK(d.poll(send).is_pending());
  CHECK(eth.counters().send_pending == 1);
  channel.set_tx_slots(1);
  CHECK(d.wakes == 1);
  CHECK(d.poll(send).is_ready());

  auto second = eth.send(kPeer.mac, wire::ethertype::kArp);
  channel.set_tx_slots(0);
  CHECK(d.poll(second).is_pending());
  channel.set_link_down();
  auto p = d.poll(second);
  REQUIRE(p.is_ready());
  CHECK(p.value().error() == SendError::kLinkDown);
}

TEST_CASE("the receive filter: ours and broadcast pass, whatever their EtherType; the rest is counted by reason") {
  FakeChannel channel;
  Ethernet<FakeChannel> eth(channel, kOurMac);
  const testing::Bytes payload(20);
  CHECK(eth.accept(kPeer.ethernet(kOurMac, wire::ethertype::kIpv4, payload)).has_value());
  CHECK(eth.accept(kPeer.ethernet(MacAddress::broadcast(), wire::ethertype::kArp, payload)).has_value());
  // The link does not filter protocols: which one gets it is the interface's table (interface_test).
  CHECK(eth.accept(kPeer.ethernet(kOurMac, 0x86dd, payload)).has_value());  // IPv6
  CHECK_FALSE(eth.accept(kPeer.ethernet({{2, 0, 0, 0, 0, 9}}, wire::ethertype::kIpv4, payload)).has_value());
  CHECK_FALSE(eth.accept(testing::Bytes(13)).has_value());
  CHECK(eth.counters().frames_received == 3);
  CHECK(eth.counters().dropped[EthernetDrop::kNotForUs] == 1);
  CHECK(eth.counters().malformed[wire::EthernetError::kTruncated] == 1);
}

TEST_CASE("multicast groups: frames to a joined group pass, others do not; the table is bounded") {
  FakeChannel channel;
  Ethernet<FakeChannel> eth(channel, kOurMac);
  const testing::Bytes payload(20);
  const MacAddress all_nodes{{0x33, 0x33, 0, 0, 0, 1}};         // IPv6 all-nodes
  const MacAddress solicited{{0x33, 0x33, 0xff, 0, 0, 0x01}};   // a solicited-node group
  CHECK_FALSE(eth.accept(kPeer.ethernet(all_nodes, wire::ethertype::kIpv4, payload)).has_value());
  CHECK_FALSE(eth.join_multicast(all_nodes).has_value());
  CHECK_FALSE(eth.join_multicast(all_nodes).has_value());  // again: no second entry
  CHECK(eth.accept(kPeer.ethernet(all_nodes, wire::ethertype::kIpv4, payload)).has_value());
  CHECK_FALSE(eth.accept(kPeer.ethernet(solicited, wire::ethertype::kIpv4, payload)).has_value());
  CHECK(eth.join_multicast(kPeer.mac) == MulticastError::kNotMulticast);  // a unicast address
  CHECK(eth.join_multicast(MacAddress::broadcast()) == MulticastError::kNotMulticast);
  for (std::size_t i = 1; i < kMulticastGroups; ++i) {
    CHECK_FALSE(eth.join_multicast({{0x01, 0, 0x5e, 0, 0, static_cast<std::uint8_t>(i)}}).has_value());
  }
  CHECK(eth.join_multicast(solicited) == MulticastError::kTableFull);
  CHECK(eth.leave_multicast(all_nodes));
  CHECK_FALSE(eth.leave_multicast(all_nodes));
  CHECK_FALSE(eth.accept(kPeer.ethernet(all_nodes, wire::ethertype::kIpv4, payload)).has_value());
  CHECK_FALSE(eth.join_multicast(solicited).has_value());  // the freed place
  CHECK(eth.accept(kPeer.ethernet(solicited, wire::ethertype::kIpv4, payload)).has_value());
  CHECK(eth.counters().dropped[EthernetDrop::kNotForUs] == 3);
}

}  // namespace
}  // namespace pollstack::net
