// ICMP over the interface and a fake channel, against a fake neighbour: echo both ways, port
// unreachable sent (rate limited) and received.
#include "layers/icmp/icmp.h"

#include <doctest/doctest.h>

#include "tests/layers/interface_fixture.h"

namespace pollstack::net {
namespace {

using namespace testing;
namespace icmp_type = wire::icmp_type;

TEST_CASE("an echo request is answered byte for byte, up to the MTU") {
  InterfaceFixture f;
  f.meet();
  for (std::size_t size : {std::size_t{0}, std::size_t{56}, kMtu - 20 - 8}) {
    CAPTURE(size);
    const Bytes data = pattern(size, 3);
    f.receive(kPeer.icmp(kOurMac, kOurIp, {icmp_type::kEchoRequest, 0, 0x1234, 7}, data));
    const Sent reply = f.sent();
    REQUIRE(reply.icmp.has_value());  // decode() verified both checksums
    CHECK(reply.eth.destination == kPeer.mac);
    CHECK(reply.ip->destination == kPeer.ip);
    CHECK(reply.ip->source == kOurIp);
    CHECK(reply.icmp->type == icmp_type::kEchoReply);
    CHECK(reply.icmp->identifier == 0x1234);
    CHECK(reply.icmp->sequence == 7);
    CHECK(reply.payload == data);
  }
  CHECK(f.channel.rx_held() == 0);
}

TEST_CASE("echo to a broadcast address is not answered; unknown types are counted") {
  InterfaceFixture f;
  f.meet();
  f.receive(kPeer.icmp(wire::MacAddress::broadcast(), {{10, 0, 0, 255}}, {icmp_type::kEchoRequest, 0, 1, 1}, {}));
  f.receive(kPeer.icmp(kOurMac, kOurIp, {13, 0, 0, 0}, {}));  // timestamp request
  CHECK(f.channel.sent_count() == 0);
  CHECK(f.iface.icmp().counters().dropped[IcmpDrop::kBroadcastEcho] == 1);
  CHECK(f.iface.icmp().counters().dropped[IcmpDrop::kUnhandledType] == 1);
}

TEST_CASE("an echo reply to a neighbour we do not know is not sent, and the request starts ARP") {
  InterfaceFixture f;
  f.receive(kPeer.icmp(kOurMac, kOurIp, {icmp_type::kEchoRequest, 0, 1, 1}, {}));
  CHECK(f.iface.icmp().counters().answers_not_sent[SendError::kNeighbourUnresolved] == 1);
  f.run();
  const Sent request = f.sent();
  REQUIRE(request.arp.has_value());
  CHECK(request.arp->target_ip == kPeer.ip);
}

TEST_CASE("a bad ICMP checksum is counted and not answered") {
  InterfaceFixture f;
  f.meet();
  Bytes frame = kPeer.icmp(kOurMac, kOurIp, {icmp_type::kEchoRequest, 0, 1, 1}, pattern(8));
  frame.back() ^= std::byte{0xff};
  f.receive(frame);
  CHECK(f.channel.sent_count() == 0);
  CHECK(f.iface.icmp().counters().malformed[wire::IcmpError::kBadChecksum] == 1);
}

TEST_CASE("UDP to a closed port: port unreachable quoting the datagram, rate limited") {
  InterfaceFixture f;
  f.meet();
  const Bytes payload = text("anyone there?");
  const Bytes datagram = kPeer.udp(kOurMac, kOurIp, 5555, 9, payload);
  f.receive(datagram);
  const Sent error = f.sent();
  REQUIRE(error.icmp.has_value());
  CHECK(error.icmp->type == icmp_type::kDestinationUnreachable);
  CHECK(error.icmp->code == wire::icmp_unreachable_code::kPortUnreachable);
  CHECK(error.ip->destination == kPeer.ip);
  // The quote: the offending IP header and the first 8 bytes of its payload.
  REQUIRE(error.payload.size() == kIcmpQuoteBytes);
  CHECK(std::equal(error.payload.begin(), error.payload.end(), datagram.begin() + 14));

  // The burst is spent on kIcmpErrorBurst errors (one above); the rest are rate limited.
  for (std::uint32_t i = 0; i < kIcmpErrorBurst + 5; ++i) f.receive(datagram);
  CHECK(f.channel.sent_count() == kIcmpErrorBurst - 1);
  CHECK(f.iface.icmp().counters().errors_rate_limited == 6);
  while (f.channel.take_sent()) {
  }
  f.d.advance(kIcmpErrorInterval * 2);
  for (int i = 0; i < 3; ++i) f.receive(datagram);
  CHECK(f.channel.sent_count() == 2);  // two tokens came back
}

TEST_CASE("no ICMP error for a broadcast, by IP address or by link address (RFC 1122 3.2.2)") {
  InterfaceFixture f;
  f.meet();
  f.receive(kPeer.udp(wire::MacAddress::broadcast(), {{10, 0, 0, 255}}, 5555, 9, text("x")));
  // Our unicast address, but in a link-layer broadcast or multicast frame: Linux answers only
  // PACKET_HOST frames with errors, so a misaddressed frame cannot make every host answer.
  f.receive(kPeer.udp(wire::MacAddress::broadcast(), kOurIp, 5555, 9, text("x")));
  const wire::MacAddress all_hosts{{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}};
  REQUIRE_FALSE(f.iface.ethernet().join_multicast(all_hosts).has_value());
  f.receive(kPeer.udp(all_hosts, kOurIp, 5555, 9, text("x")));
  f.receive(kPeer.ipv4(wire::MacAddress::broadcast(), kOurIp, 132, text("x")));  // protocol unreachable
  CHECK(f.channel.sent_count() == 0);
  CHECK(f.iface.udp().counters().dropped[UdpDrop::kClosedPort] == 3);
  CHECK(f.iface.icmp().counters().errors_to_broadcast_suppressed == 4);
  // The same datagram in a frame to our MAC is answered.
  f.receive(kPeer.udp(kOurMac, kOurIp, 5555, 9, text("x")));
  CHECK(f.channel.sent_count() == 1);
  CHECK(f.iface.icmp().counters().unreachables_sent == 1);
}

TEST_CASE("a received port unreachable is reported to the socket that sent the datagram, once") {
  InterfaceFixture f;
  f.meet();
  auto& udp = f.iface.udp();
  const UdpSocketId s = udp.bind(4000).value();
  const Bytes out = text("hello");
  auto send = udp.send_to(s, {kPeer.ip, 9}, out);
  REQUIRE(f.d.poll(send).is_ready());
  const Bytes sent_frame = *f.channel.take_sent();
  // The peer answers with a port unreachable quoting our datagram.
  const Bytes quote(sent_frame.begin() + 14, sent_frame.begin() + 14 + kIcmpQuoteBytes);
  Bytes buffer(64);
  auto recv = udp.recv_from(s, buffer);
  CHECK(f.d.poll(recv).is_pending());
  f.receive(kPeer.icmp(kOurMac, kOurIp, {icmp_type::kDestinationUnreachable, 3, 0, 0}, quote));
  CHECK(f.d.wakes >= 1);
  auto r = f.d.poll(recv);
  REQUIRE(r.is_ready());
  CHECK(r.value().error() == RecvError::kPortUnreachable);
  CHECK_FALSE(udp.try_receive(s, buffer).has_value());  // reported once

  // Other unreachable codes (here: host unreachable) are reported as kUnreachable.
  f.receive(kPeer.icmp(kOurMac, kOurIp, {icmp_type::kDestinationUnreachable, 1, 0, 0}, quote));
  auto again = udp.recv_from(s, buffer);
  auto r2 = f.d.poll(again);
  REQUIRE(r2.is_ready());
  CHECK(r2.value().error() == RecvError::kUnreachable);
  CHECK(udp.counters().errors_reported == 2);

  // An error about a protocol no transport here speaks is counted by the interface.
  Bytes sctp_quote = quote;
  sctp_quote[9] = std::byte{132};  // protocol SCTP
  sctp_quote[10] = sctp_quote[11] = std::byte{0};
  const std::uint16_t c = wire::checksum_finish(wire::checksum_accumulate(std::span(sctp_quote).first(20)));
  sctp_quote[10] = static_cast<std::byte>(c >> 8);
  sctp_quote[11] = static_cast<std::byte>(c & 0xff);
  f.receive(kPeer.icmp(kOurMac, kOurIp, {icmp_type::kDestinationUnreachable, 3, 0, 0}, sctp_quote));
  CHECK(f.iface.counters().transport_errors_unclaimed == 1);
  CHECK_FALSE(udp.try_receive(s, buffer).has_value());

  // An error for a port no socket holds is counted by UDP.
  udp.close(s);
  f.receive(kPeer.icmp(kOurMac, kOurIp, {icmp_type::kDestinationUnreachable, 3, 0, 0}, quote));
  CHECK(udp.counters().errors_unclaimed == 1);

  // A quote of something we did not send is counted, not reported.
  Bytes forged = quote;
  forged[12] = std::byte{99};  // source address no longer ours (header checksum now wrong too)
  f.receive(kPeer.icmp(kOurMac, kOurIp, {icmp_type::kDestinationUnreachable, 3, 0, 0}, forged));
  CHECK(f.iface.icmp().counters().dropped[IcmpDrop::kBadQuote] == 1);
}

TEST_CASE("ping: an echo request out, the matching reply back to the waiting pinger") {
  InterfaceFixture f;
  f.meet();
  auto& icmp = f.iface.icmp();
  auto waiting = icmp.receive_echo_reply(0x77);
  CHECK(f.d.poll(waiting).is_pending());
  const Bytes data = pattern(32);
  auto ping = icmp.ping(kPeer.ip, 0x77, 1, data);
  auto p = f.d.poll(ping);
  REQUIRE(p.is_ready());
  CHECK(p.value().value() == 32);
  const Sent request = f.sent();
  CHECK(request.icmp->type == icmp_type::kEchoRequest);
  CHECK(request.payload == data);
  // A reply for another identifier is not ours.
  f.receive(kPeer.icmp(kOurMac, kOurIp, {icmp_type::kEchoReply, 0, 0x78, 1}, data));
  CHECK(f.d.poll(waiting).is_pending());
  f.receive(kPeer.icmp(kOurMac, kOurIp, {icmp_type::kEchoReply, 0, 0x77, 1}, data));
  auto reply = f.d.poll(waiting);
  REQUIRE(reply.is_ready());
  CHECK(reply.value().from == kPeer.ip);
  CHECK(reply.value().sequence == 1);
  CHECK(reply.value().data_length == 32);
  CHECK(icmp.counters().dropped[IcmpDrop::kUnmatchedEchoReply] == 1);
}

}  // namespace
}  // namespace pollstack::net
