// The UDP echo (RFC 862) and discard (RFC 863) services over the interface and a fake device:
// what each sends back, what each counts, and how each ends (its socket closed).
#include <doctest/doctest.h>

#include <string>

#include "layers/services/udp_discard.h"
#include "layers/services/udp_echo.h"
#include "tests/layers/interface_fixture.h"
#include "tests/layers/peer.h"

namespace pollstack::net {
namespace {

using testing::InterfaceFixture;
using testing::kOurIp;
using testing::kOurMac;
using testing::kPeer;
using testing::Sent;
using Udp = InterfaceFixture::Iface::UdpLayer;

std::string as_string(const testing::Bytes& b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

constexpr std::uint16_t kEchoPort = 7;
constexpr std::uint16_t kDiscardPort = 9;
constexpr std::uint16_t kPeerPort = 5555;

// The interface, the neighbour introduced, and one service on its port.
template <template <class> class Service>
struct UdpServiceFixture : InterfaceFixture {
  explicit UdpServiceFixture(std::uint16_t port)
      : socket(iface.udp().bind(port).value()), service(iface.udp(), socket) {
    meet();
  }

  void datagram(std::uint16_t port, const std::string& text) {
    receive(kPeer.udp(kOurMac, kOurIp, kPeerPort, port, testing::text(text.c_str())));
  }
  Poll<RecvError> poll_service() {
    Poll<RecvError> p = d.poll(service);
    run();  // the interface task sends what the service queued
    return p;
  }

  UdpSocketId socket;
  Service<Udp> service;
};

TEST_CASE("UDP echo: each datagram goes back to its sender; closing the socket ends the service") {
  UdpServiceFixture<UdpEchoService> f(kEchoPort);
  CHECK(f.poll_service().is_pending());
  f.datagram(kEchoPort, "ping one");
  f.datagram(kEchoPort, "ping two");
  CHECK(f.poll_service().is_pending());
  for (const char* expected : {"ping one", "ping two"}) {
    const Sent s = f.sent();
    REQUIRE(s.udp.has_value());
    CHECK(s.udp->source_port == kEchoPort);
    CHECK(s.udp->destination_port == kPeerPort);
    CHECK(s.ip->destination == kPeer.ip);
    CHECK(as_string(s.payload) == expected);
  }
  CHECK(f.service.counters().echoed == 2);

  f.iface.udp().close(f.socket);
  const Poll<RecvError> ended = f.poll_service();
  REQUIRE(ended.is_ready());
  CHECK(ended.value() == RecvError::kBadSocket);
}

TEST_CASE("UDP discard: datagrams are counted and nothing comes back; closing the socket ends it") {
  UdpServiceFixture<UdpDiscardService> f(kDiscardPort);
  CHECK(f.poll_service().is_pending());
  f.datagram(kDiscardPort, "thrown away");
  f.datagram(kDiscardPort, "and this");
  CHECK(f.poll_service().is_pending());
  f.run();
  CHECK(f.channel.sent_count() == 0);
  CHECK(f.service.counters().datagrams == 2);
  CHECK(f.service.counters().bytes == 19);

  f.iface.udp().close(f.socket);
  const Poll<RecvError> ended = f.poll_service();
  REQUIRE(ended.is_ready());
  CHECK(ended.value() == RecvError::kBadSocket);
}

}  // namespace
}  // namespace pollstack::net
