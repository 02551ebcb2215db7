#include "layers/udp/udp_wire.h"

#include <doctest/doctest.h>

#include <array>
#include <cstring>
#include <vector>

#include "layers/ipv4/ipv4_wire.h"

namespace pollstack::wire {
namespace {

const Ipv4Address kFrom{{10, 0, 0, 1}};
const Ipv4Address kTo{{10, 0, 0, 2}};

const PseudoHeader kPseudo = ipv4_pseudo_header(kFrom, kTo, ip_protocol::kUdp);

std::vector<std::byte> datagram(std::size_t payload_length) {
  std::vector<std::byte> d(kUdpHeaderBytes + payload_length);
  for (std::size_t i = 0; i < payload_length; ++i) d[kUdpHeaderBytes + i] = static_cast<std::byte>(i * 7 + 3);
  emit_udp(UdpRepr{5353, 7}, kPseudo, payload_length, d);
  return d;
}

TEST_CASE("emit then parse round-trips, for even and odd payload lengths") {
  for (std::size_t n : {0u, 1u, 2u, 17u, 64u, 1471u, 1472u}) {
    CAPTURE(n);
    const std::vector<std::byte> d = datagram(n);
    const auto parsed = parse_udp(d, kPseudo);
    REQUIRE(parsed.ok());
    CHECK(parsed.repr().source_port == 5353);
    CHECK(parsed.repr().destination_port == 7);
    CHECK(parsed.payload().size() == n);
  }
}

TEST_CASE("the checksum covers the pseudo-header: a different address fails it") {
  const std::vector<std::byte> d = datagram(20);
  CHECK(parse_udp(d, ipv4_pseudo_header(kFrom, {{10, 0, 0, 3}}, ip_protocol::kUdp)).error() == UdpError::kBadChecksum);
  CHECK(parse_udp(d, ipv4_pseudo_header(kFrom, kTo, 6)).error() == UdpError::kBadChecksum);  // the protocol too
}

TEST_CASE("where the pseudo-header forbids it (IPv6), a zero checksum is refused, even one that would verify") {
  std::vector<std::byte> d = datagram(5);
  PseudoHeader v6_like = kPseudo;
  v6_like.zero_checksum_means_none = false;
  CHECK(parse_udp(d, v6_like).ok());
  d[6] = std::byte{0};
  d[7] = std::byte{0};
  CHECK(parse_udp(d, v6_like).error() == UdpError::kBadChecksum);
  CHECK(parse_udp(d, kPseudo).ok());
}

TEST_CASE("a zero checksum means none and is accepted") {
  std::vector<std::byte> d = datagram(5);
  d[6] = std::byte{0};
  d[7] = std::byte{0};
  d[kUdpHeaderBytes] ^= std::byte{0xff};  // not detectable without a checksum
  CHECK(parse_udp(d, kPseudo).ok());
}

TEST_CASE("each malformed class is rejected with its reason") {
  const std::vector<std::byte> good = datagram(10);
  CHECK(parse_udp(std::span(good).first(7), kPseudo).error() == UdpError::kTruncated);
  std::vector<std::byte> d = good;
  d[4] = std::byte{0};
  d[5] = std::byte{7};
  CHECK(parse_udp(d, kPseudo).error() == UdpError::kLengthTooSmall);
  d = good;
  d[5] = static_cast<std::byte>(good.size() + 1);
  CHECK(parse_udp(d, kPseudo).error() == UdpError::kLengthTooLarge);
  d = good;
  d[kUdpHeaderBytes + 3] ^= std::byte{0x10};
  CHECK(parse_udp(d, kPseudo).error() == UdpError::kBadChecksum);
}

TEST_CASE("a computed checksum of 0 is sent as 0xffff") {
  // Search small payloads for one whose checksum comes out 0, and check it is sent as 0xffff.
  bool found = false;
  for (std::uint32_t v = 0; v < 0x10000 && !found; ++v) {
    std::array<std::byte, kUdpHeaderBytes + 2> d{};
    d[8] = static_cast<std::byte>(v >> 8);
    d[9] = static_cast<std::byte>(v & 0xff);
    emit_udp(UdpRepr{1, 2}, kPseudo, 2, d);
    if (d[6] == std::byte{0xff} && d[7] == std::byte{0xff}) {
      found = true;
      CHECK(parse_udp(d, kPseudo).ok());  // 0xffff verifies like 0
    }
  }
  CHECK(found);
}

}  // namespace
}  // namespace pollstack::wire
