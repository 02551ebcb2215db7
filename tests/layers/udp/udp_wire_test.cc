#include "layers/udp/udp_wire.h"

#include <doctest/doctest.h>

#include <array>
#include <cstring>
#include <vector>

namespace pollstack::wire {
namespace {

const Ipv4Address kFrom{{10, 0, 0, 1}};
const Ipv4Address kTo{{10, 0, 0, 2}};

Ipv4Repr ip_for(std::size_t udp_length) {
  Ipv4Repr ip;
  ip.source = kFrom;
  ip.destination = kTo;
  ip.protocol = ip_protocol::kUdp;
  ip.payload_length = static_cast<std::uint16_t>(udp_length);
  return ip;
}

std::vector<std::byte> datagram(std::size_t payload_length) {
  std::vector<std::byte> d(kUdpHeaderBytes + payload_length);
  for (std::size_t i = 0; i < payload_length; ++i) d[kUdpHeaderBytes + i] = static_cast<std::byte>(i * 7 + 3);
  emit_udp(UdpRepr{5353, 7}, kFrom, kTo, payload_length, d);
  return d;
}

TEST_CASE("emit then parse round-trips, for even and odd payload lengths") {
  for (std::size_t n : {0u, 1u, 2u, 17u, 64u, 1471u, 1472u}) {
    CAPTURE(n);
    const std::vector<std::byte> d = datagram(n);
    const auto parsed = parse_udp(ip_for(d.size()), d);
    REQUIRE(parsed.ok());
    CHECK(parsed.repr().source_port == 5353);
    CHECK(parsed.repr().destination_port == 7);
    CHECK(parsed.payload().size() == n);
  }
}

TEST_CASE("the checksum covers the pseudo-header: a different address fails it") {
  const std::vector<std::byte> d = datagram(20);
  Ipv4Repr ip = ip_for(d.size());
  ip.destination = {{10, 0, 0, 3}};
  CHECK(parse_udp(ip, d).error() == UdpError::kBadChecksum);
}

TEST_CASE("a zero checksum means none and is accepted") {
  std::vector<std::byte> d = datagram(5);
  d[6] = std::byte{0};
  d[7] = std::byte{0};
  d[kUdpHeaderBytes] ^= std::byte{0xff};  // not detectable without a checksum
  CHECK(parse_udp(ip_for(d.size()), d).ok());
}

TEST_CASE("each malformed class is rejected with its reason") {
  const std::vector<std::byte> good = datagram(10);
  CHECK(parse_udp(ip_for(7), std::span(good).first(7)).error() == UdpError::kTruncated);
  std::vector<std::byte> d = good;
  d[4] = std::byte{0};
  d[5] = std::byte{7};
  CHECK(parse_udp(ip_for(d.size()), d).error() == UdpError::kLengthTooSmall);
  d = good;
  d[5] = static_cast<std::byte>(good.size() + 1);
  CHECK(parse_udp(ip_for(d.size()), d).error() == UdpError::kLengthTooLarge);
  d = good;
  d[kUdpHeaderBytes + 3] ^= std::byte{0x10};
  CHECK(parse_udp(ip_for(d.size()), d).error() == UdpError::kBadChecksum);
}

TEST_CASE("a computed checksum of 0 is sent as 0xffff") {
  // Search small payloads for one whose checksum comes out 0, and check it is sent as 0xffff.
  bool found = false;
  for (std::uint32_t v = 0; v < 0x10000 && !found; ++v) {
    std::array<std::byte, kUdpHeaderBytes + 2> d{};
    d[8] = static_cast<std::byte>(v >> 8);
    d[9] = static_cast<std::byte>(v & 0xff);
    emit_udp(UdpRepr{1, 2}, kFrom, kTo, 2, d);
    if (d[6] == std::byte{0xff} && d[7] == std::byte{0xff}) {
      found = true;
      CHECK(parse_udp(ip_for(d.size()), d).ok());  // 0xffff verifies like 0
    }
  }
  CHECK(found);
}

}  // namespace
}  // namespace pollstack::wire
