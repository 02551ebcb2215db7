// The IPv4 layer over ARP, Ethernet and a fake channel, against a fake neighbour.
#include "layers/ipv4/ipv4.h"

#include <doctest/doctest.h>

#include "tests/layers/interface_fixture.h"

namespace pollstack::net {
namespace {

using namespace testing;
using wire::Ipv4Address;

TEST_CASE("routing: on-link direct, off-link via the gateway, broadcast without ARP, else no route") {
  InterfaceFixture f;
  auto& ip = f.iface.ipv4();
  CHECK(ip.route({{10, 0, 0, 9}}).value().next_hop == Ipv4Address{{10, 0, 0, 9}});
  CHECK(ip.route({{192, 0, 2, 1}}).value().next_hop == kGateway);
  CHECK(ip.route({{10, 0, 0, 255}}).value().broadcast);
  CHECK(ip.route({{255, 255, 255, 255}}).value().broadcast);

  InterfaceFixture no_gateway({kOurIp, 24, {}, kDefaultTtl});
  CHECK(no_gateway.iface.ipv4().route({{192, 0, 2, 1}}).error() == SendError::kNoRoute);
  auto send = no_gateway.iface.ipv4().send({{192, 0, 2, 1}}, wire::ip_protocol::kUdp, 10);
  auto p = no_gateway.d.poll(send);
  REQUIRE(p.is_ready());
  CHECK(p.value().error() == SendError::kNoRoute);
  CHECK(no_gateway.iface.ipv4().counters().send_errors[SendError::kNoRoute] == 1);
}

TEST_CASE("a send writes a valid header: addresses, TTL, DF, rising identification") {
  InterfaceFixture f;
  f.meet();
  for (int i = 0; i < 2; ++i) {
    auto send = f.iface.ipv4().send(kPeer.ip, wire::ip_protocol::kUdp, 4);
    auto p = f.d.poll(send);
    REQUIRE(p.is_ready());
    REQUIRE(p.value().ok());
    auto& frame = p.value().value();
    CHECK(frame.payload_offset() == wire::kEthernetHeaderBytes + wire::kIpv4HeaderBytes);
    CHECK(frame.submit(4));
  }
  const testing::Bytes first_frame = *f.channel.take_sent();
  const auto first = wire::parse_ipv4(std::span(first_frame).subspan(14));
  const testing::Bytes second_frame = *f.channel.take_sent();
  const auto second = wire::parse_ipv4(std::span(second_frame).subspan(14));
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  CHECK(first.repr().source == kOurIp);
  CHECK(first.repr().destination == kPeer.ip);
  CHECK(first.repr().ttl == kDefaultTtl);
  CHECK(first.repr().payload_length == 4);
  CHECK(second.repr().identification == first.repr().identification + 1);
  CHECK(static_cast<unsigned>(second_frame[14 + 6]) == 0x40);  // don't fragment
}

TEST_CASE("a datagram larger than the MTU is refused before anything is reserved") {
  InterfaceFixture f;
  f.meet();
  auto send = f.iface.ipv4().send(kPeer.ip, wire::ip_protocol::kUdp, kMtu - wire::kIpv4HeaderBytes + 1);
  auto p = f.d.poll(send);
  REQUIRE(p.is_ready());
  CHECK(p.value().error() == SendError::kMessageTooLong);
  CHECK(f.channel.sent_count() == 0);
}

TEST_CASE("a send to an unresolved neighbour: ARP request out, Pending, then the datagram") {
  InterfaceFixture f;
  auto send = f.iface.ipv4().send(kPeer.ip, wire::ip_protocol::kUdp, 0);
  CHECK(f.d.poll(send).is_pending());
  f.run();  // the task transmits the due request
  const Sent request = f.sent();
  REQUIRE(request.arp.has_value());
  CHECK(request.eth.destination == wire::MacAddress::broadcast());
  CHECK(request.arp->operation == wire::arp_operation::kRequest);
  CHECK(request.arp->target_ip == kPeer.ip);
  CHECK(f.d.deadline == f.d.now + kArpRetryInterval);  // the task asked to be woken for the retry

  f.receive(kPeer.arp(wire::arp_operation::kReply, kOurMac, kOurMac, kOurIp));
  auto p = f.d.poll(send);
  REQUIRE(p.is_ready());
  REQUIRE(p.value().ok());
}

TEST_CASE("a send to a silent neighbour retries, then fails with kHostUnreachable") {
  InterfaceFixture f;
  auto send = f.iface.ipv4().send(kPeer.ip, wire::ip_protocol::kUdp, 0);
  CHECK(f.d.poll(send).is_pending());
  for (std::uint32_t i = 0; i < kArpMaxRequests; ++i) {
    f.run();
    CHECK(f.sent().arp->target_ip == kPeer.ip);
    f.d.advance(kArpRetryInterval);
  }
  f.run();
  CHECK(f.channel.sent_count() == 0);
  auto p = f.d.poll(send);
  REQUIRE(p.is_ready());
  CHECK(p.value().error() == SendError::kHostUnreachable);
}

TEST_CASE("martian sources are dropped and counted, never answered or delivered") {
  InterfaceFixture f;
  f.meet();
  const auto& counters = f.iface.ipv4().counters();
  const UdpSocketId socket = f.iface.udp().bind(7).value();
  const testing::Bytes ping(8);
  const wire::Ipv4Address martians[] = {
      kOurIp,                    // our own address
      {{127, 0, 0, 1}},          // loopback
      {{0, 0, 0, 0}},            // "this host"
      {{240, 0, 0, 1}},          // class E
      {{224, 0, 0, 1}},          // multicast
      {{10, 0, 0, 255}},         // our subnet's broadcast
      {{255, 255, 255, 255}},    // limited broadcast
  };
  for (const wire::Ipv4Address& source : martians) {
    Peer spoofer = kPeer;
    spoofer.ip = source;
    f.receive(spoofer.udp(kOurMac, kOurIp, 5000, 7, testing::text("spoofed")));  // to an open port
    f.receive(spoofer.udp(kOurMac, kOurIp, 5000, 9, testing::text("spoofed")));  // closed: no unreachable
    f.receive(spoofer.icmp(kOurMac, kOurIp, {wire::icmp_type::kEchoRequest, 0, 1, 1}, ping));  // no reply
  }
  CHECK(counters.dropped[Ipv4Drop::kMartianSource] == 3 * std::size(martians));
  CHECK(counters.packets_received == 0);
  CHECK(f.iface.udp().queued(socket) == 0);
  CHECK(f.channel.sent_count() == 0);  // nothing answered: no ARP for ourselves, no echo, no unreachable
  CHECK(f.iface.arp().neighbours().state_of(kOurIp) == NeighbourState::kFree);
}

TEST_CASE("accept_local (a loopback driver reflecting our frames) accepts our own source, and only it") {
  InterfaceFixture f({kOurIp, 24, kGateway, kDefaultTtl, kMtu, /*accept_local=*/true});
  const UdpSocketId socket = f.iface.udp().bind(7).value();
  Peer self = kPeer;
  self.ip = kOurIp;
  f.receive(self.udp(kOurMac, kOurIp, 5000, 7, testing::text("reflected")));
  CHECK(f.iface.udp().queued(socket) == 1);
  self.ip = {{127, 0, 0, 1}};
  f.receive(self.udp(kOurMac, kOurIp, 5000, 7, testing::text("loopback")));
  CHECK(f.iface.udp().queued(socket) == 1);
  CHECK(f.iface.ipv4().counters().dropped[Ipv4Drop::kMartianSource] == 1);
}

TEST_CASE("the receive filter and every malformed class, counted by reason") {
  InterfaceFixture f;
  auto& counters = f.iface.ipv4().counters();
  const testing::Bytes udp(8);
  // Good packet to us (no socket: counted by UDP, not here).
  f.receive(kPeer.ipv4(kOurMac, kOurIp, wire::ip_protocol::kUdp, udp));
  CHECK(counters.packets_received == 1);
  // Not for us; unknown protocol; broadcast source.
  f.receive(kPeer.ipv4(kOurMac, {{10, 0, 0, 77}}, wire::ip_protocol::kUdp, udp));
  f.receive(kPeer.ipv4(kOurMac, kOurIp, 132, udp));  // SCTP
  Peer bad = kPeer;
  bad.ip = {{255, 255, 255, 255}};
  f.receive(bad.ipv4(kOurMac, kOurIp, wire::ip_protocol::kUdp, udp));
  CHECK(counters.dropped[Ipv4Drop::kNotForUs] == 1);
  CHECK(counters.dropped[Ipv4Drop::kUnknownProtocol] == 1);
  CHECK(counters.dropped[Ipv4Drop::kMartianSource] == 1);

  // Each malformed class, made from a good packet by changing one thing.
  const testing::Bytes good = kPeer.ipv4(kOurMac, kOurIp, wire::ip_protocol::kUdp, udp);
  auto mutate = [&](auto change) {
    testing::Bytes frame = good;
    change(frame);
    f.receive(frame);
  };
  auto fix_checksum = [](testing::Bytes& fr) {
    fr[24] = fr[25] = std::byte{0};
    const std::uint16_t c = wire::checksum_finish(wire::checksum_accumulate(std::span(fr).subspan(14, 20)));
    fr[24] = static_cast<std::byte>(c >> 8);
    fr[25] = static_cast<std::byte>(c & 0xff);
  };
  mutate([](testing::Bytes& fr) { fr.resize(14 + 19); });                                      // truncated
  mutate([&](testing::Bytes& fr) { fr[14] = std::byte{0x65}; fix_checksum(fr); });              // version 6
  mutate([&](testing::Bytes& fr) { fr[14] = std::byte{0x44}; fix_checksum(fr); });              // IHL 4
  mutate([&](testing::Bytes& fr) { fr[14] = std::byte{0x46}; fix_checksum(fr); });              // options
  mutate([&](testing::Bytes& fr) { fr[16] = std::byte{0}; fr[17] = std::byte{19}; fix_checksum(fr); });  // total < header
  mutate([&](testing::Bytes& fr) { fr[16] = std::byte{0}; fr[17] = std::byte{200}; fix_checksum(fr); });  // total > frame
  mutate([](testing::Bytes& fr) { fr[25] ^= std::byte{1}; });                                   // checksum
  mutate([&](testing::Bytes& fr) { fr[20] = std::byte{0x20}; fix_checksum(fr); });              // more fragments
  for (std::size_t kind = 0; kind < wire::kIpv4ErrorKinds; ++kind) {
    CAPTURE(kind);
    CHECK(counters.malformed[static_cast<wire::Ipv4Error>(kind)] == 1);
  }
  CHECK(counters.packets_received == 2);  // the good one, and the TCP one (no transport: kUnknownProtocol)
  CHECK(f.channel.rx_held() == 0);        // every received buffer went back
}

}  // namespace
}  // namespace pollstack::net
