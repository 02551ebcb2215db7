// The UDP socket table over the interface and a fake channel, against a fake neighbour.
#include "layers/udp/udp.h"

#include <doctest/doctest.h>

#include "tests/layers/interface_fixture.h"

namespace pollstack::net {
namespace {

using namespace testing;

TEST_CASE("bind: chosen ports, ephemeral ports, port in use, table full, close and reuse") {
  InterfaceFixture f;
  auto& udp = f.iface.udp();
  const UdpSocketId a = udp.bind(7).value();
  CHECK(udp.local_port(a) == 7);
  CHECK(udp.bind(7).error() == BindError::kPortInUse);
  const UdpSocketId e1 = udp.bind(0).value();
  const UdpSocketId e2 = udp.bind(0).value();
  CHECK(udp.local_port(e1) >= kEphemeralPortFirst);
  CHECK(udp.local_port(e2) != udp.local_port(e1));
  for (std::size_t i = 3; i < kUdpSockets; ++i) CHECK(udp.bind(static_cast<std::uint16_t>(100 + i)).ok());
  CHECK(udp.bind(9999).error() == BindError::kTableFull);
  udp.close(a);
  CHECK(udp.local_port(a) == 0);  // the old handle is dead
  const UdpSocketId b = udp.bind(7).value();
  CHECK(b.index == a.index);
  CHECK(udp.local_port(a) == 0);  // and stays dead after the slot is reused
  CHECK(udp.local_port(b) == 7);
}

TEST_CASE("send_to puts a checksummed datagram on the wire; sizes from empty to the largest") {
  InterfaceFixture f;
  f.meet();
  auto& udp = f.iface.udp();
  const UdpSocketId s = udp.bind(4000).value();
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{64}, kUdpMaxPayload}) {
    CAPTURE(size);
    const Bytes payload = pattern(size, 1);
    auto send = udp.send_to(s, {kPeer.ip, 9000}, payload);
    auto p = f.d.poll(send);
    REQUIRE(p.is_ready());
    CHECK(p.value().value() == size);
    const Sent sent = f.sent();  // decode() verifies the IP and UDP checksums
    CHECK(sent.udp->source_port == 4000);
    CHECK(sent.udp->destination_port == 9000);
    CHECK(sent.payload == payload);
  }
  const Bytes too_big(kUdpMaxPayload + 1);
  auto send = udp.send_to(s, {kPeer.ip, 9000}, too_big);
  CHECK(f.d.poll(send).value().error() == SendError::kMessageTooLong);
  auto bad = udp.send_to(UdpSocketId{5, 0}, {kPeer.ip, 9000}, too_big);
  CHECK(f.d.poll(bad).value().error() == SendError::kBadSocket);
  CHECK(udp.counters().datagrams_sent == 4);
}

TEST_CASE("backpressure reaches the application: send_to is Pending while the channel is full") {
  InterfaceFixture f;
  f.meet();
  auto& udp = f.iface.udp();
  const UdpSocketId s = udp.bind(4000).value();
  f.channel.set_tx_slots(0);
  const Bytes payload = text("wait for me");
  auto send = udp.send_to(s, {kPeer.ip, 9000}, payload);
  for (int i = 0; i < 3; ++i) CHECK(f.d.poll(send).is_pending());
  CHECK(udp.counters().send_pending == 3);
  CHECK(f.channel.sent_count() == 0);
  f.channel.set_tx_slots(1);
  CHECK(f.d.wakes == 1);  // the channel woke the waiting sender
  auto p = f.d.poll(send);
  REQUIRE(p.is_ready());
  CHECK(p.value().ok());
  CHECK(f.sent().payload == payload);
}

TEST_CASE("receive: queued in order with the sender's address; a waiting reader is woken") {
  InterfaceFixture f;
  auto& udp = f.iface.udp();
  const UdpSocketId s = udp.bind(5000).value();
  Bytes buffer(2048);
  auto recv = udp.recv_from(s, buffer);
  CHECK(f.d.poll(recv).is_pending());
  f.receive(kPeer.udp(kOurMac, kOurIp, 6000, 5000, text("first")));
  f.receive(kPeer.udp(kOurMac, kOurIp, 6000, 5000, text("second")));
  CHECK(f.d.wakes >= 1);
  auto r = f.d.poll(recv);
  REQUIRE(r.is_ready());
  CHECK(r.value().value().from == UdpEndpoint{kPeer.ip, 6000});
  CHECK(Bytes(buffer.begin(), buffer.begin() + r.value().value().length) == text("first"));
  auto again = udp.recv_from(s, buffer);
  auto r2 = f.d.poll(again);
  REQUIRE(r2.is_ready());
  CHECK(Bytes(buffer.begin(), buffer.begin() + r2.value().value().length) == text("second"));
  CHECK(f.channel.rx_held() == 0);  // read datagrams gave their buffers back
}

TEST_CASE("a short buffer gets the start of the datagram and learns it was truncated") {
  InterfaceFixture f;
  auto& udp = f.iface.udp();
  const UdpSocketId s = udp.bind(5000).value();
  f.receive(kPeer.udp(kOurMac, kOurIp, 6000, 5000, text("0123456789")));
  Bytes small(4);
  const auto r = udp.try_receive(s, small);
  REQUIRE(r.has_value());
  CHECK(r->value().length == 4);
  CHECK(r->value().truncated);
  CHECK(small == text("0123"));
}

TEST_CASE("a full receive queue drops the overflow, counted per socket and in total") {
  InterfaceFixture f;
  auto& udp = f.iface.udp();
  const UdpSocketId s = udp.bind(5000).value();
  for (std::size_t i = 0; i < kUdpReceiveQueueDepth + 3; ++i) {
    f.receive(kPeer.udp(kOurMac, kOurIp, 6000, 5000, pattern(10, static_cast<unsigned>(i))));
  }
  CHECK(udp.queued(s) == kUdpReceiveQueueDepth);
  CHECK(f.channel.rx_held() == kUdpReceiveQueueDepth);  // zero copy: queued datagrams hold buffers
  CHECK(udp.socket_counters(s)->queue_overflows == 3);
  CHECK(udp.counters().dropped[UdpDrop::kQueueFull] == 3);
  // The ones kept are the first ones, in order.
  Bytes buffer(64);
  CHECK(Bytes(buffer.begin(), buffer.begin() + udp.try_receive(s, buffer)->value().length) == pattern(10, 0));
  // Closing the socket gives every held buffer back.
  udp.close(s);
  CHECK(f.channel.rx_held() == 0);
}

TEST_CASE("a burst three queues long is not dropped when the reader runs between the task's turns") {
  InterfaceFixture f;
  auto& udp = f.iface.udp();
  const UdpSocketId s = udp.bind(5000).value();
  for (std::size_t i = 0; i < 3 * kUdpReceiveQueueDepth; ++i) {
    f.channel.inject(kPeer.udp(kOurMac, kOurIp, 6000, 5000, pattern(10, static_cast<unsigned>(i))));
  }
  Bytes buffer(64);
  std::size_t read = 0;
  for (int turn = 0; turn < 10 && read < 3 * kUdpReceiveQueueDepth; ++turn) {
    f.run_once();  // one turn of the receive task: it stops when the queue fills
    CHECK(udp.queued(s) <= kUdpReceiveQueueDepth);
    while (auto r = udp.try_receive(s, buffer)) {
      CHECK(Bytes(buffer.begin(), buffer.begin() + r->value().length) == pattern(10, static_cast<unsigned>(read)));
      ++read;
    }
  }
  CHECK(read == 3 * kUdpReceiveQueueDepth);
  CHECK(udp.counters().dropped[UdpDrop::kQueueFull] == 0);
  CHECK(f.iface.counters().polls_yielded >= 2);
}

TEST_CASE("closing a socket completes its waiting reader with kBadSocket") {
  InterfaceFixture f;
  auto& udp = f.iface.udp();
  const UdpSocketId s = udp.bind(5000).value();
  Bytes buffer(64);
  auto recv = udp.recv_from(s, buffer);
  CHECK(f.d.poll(recv).is_pending());
  udp.close(s);
  CHECK(f.d.wakes == 1);
  CHECK(f.d.poll(recv).value().error() == RecvError::kBadSocket);
}

TEST_CASE("malformed datagrams are counted by reason and never queued") {
  InterfaceFixture f;
  auto& udp = f.iface.udp();
  udp.bind(5000).value();
  const Bytes good = kPeer.udp(kOurMac, kOurIp, 6000, 5000, text("payload"));
  auto send_mutated = [&](auto change) {
    Bytes d(good.begin() + 34, good.end());
    change(d);
    f.receive(kPeer.ipv4(kOurMac, kOurIp, wire::ip_protocol::kUdp, d));
  };
  send_mutated([](Bytes& d) { d.resize(7); });                               // truncated
  send_mutated([](Bytes& d) { d[4] = std::byte{0}; d[5] = std::byte{7}; });   // length < 8
  send_mutated([](Bytes& d) { d[4] = std::byte{0}; d[5] = std::byte{99}; });  // length > IP payload
  send_mutated([](Bytes& d) { d.back() ^= std::byte{1}; });                   // checksum
  for (std::size_t kind = 0; kind < wire::kUdpErrorKinds; ++kind) {
    CAPTURE(kind);
    CHECK(udp.counters().malformed[static_cast<wire::UdpError>(kind)] == 1);
  }
  CHECK(udp.counters().datagrams_queued == 0);
  // A zero checksum means "none" over IPv4 and is accepted.
  send_mutated([](Bytes& d) { d[6] = d[7] = std::byte{0}; });
  CHECK(udp.counters().datagrams_queued == 1);
}

TEST_CASE("a send to an IPv6 endpoint fails with kAddressFamily: nothing is reserved or sent") {
  InterfaceFixture f;
  f.meet();
  const UdpSocketId s = f.iface.udp().bind(4000).value();
  wire::Ipv6Address v6{};
  v6.octets[0] = 0xfe;
  v6.octets[1] = 0x80;
  v6.octets[15] = 2;
  const Bytes payload = text("v6?");
  auto send = f.iface.udp().send_to(s, {v6, 7}, payload);
  auto p = f.d.poll(send);
  REQUIRE(p.is_ready());
  CHECK(p.value().error() == SendError::kAddressFamily);
  CHECK(f.channel.sent_count() == 0);
  CHECK(f.iface.udp().counters().send_errors[SendError::kAddressFamily] == 1);
}

}  // namespace
}  // namespace pollstack::net
