#include "layers/arp/arp_wire.h"

#include <doctest/doctest.h>

#include <array>

#include "tests/layers/bytes_of.h"

namespace pollstack::wire {
namespace {

using testing::bytes_of;

// "Who has 10.0.0.2? Tell 10.0.0.1", from 02:00:00:00:00:01, laid out by hand from RFC 826.
constexpr auto kRequest = bytes_of(0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,     // htype, ptype, sizes, op
                                   0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 10, 0, 0, 1,   // sender MAC, IP
                                   0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 10, 0, 0, 2);  // target MAC, IP

TEST_CASE("parses a request laid out by hand") {
  const auto parsed = parse_arp(kRequest);
  REQUIRE(parsed.ok());
  CHECK(parsed.repr().operation == arp_operation::kRequest);
  CHECK(parsed.repr().sender_mac == MacAddress{{0x02, 0, 0, 0, 0, 1}});
  CHECK(parsed.repr().sender_ip == Ipv4Address{{10, 0, 0, 1}});
  CHECK(parsed.repr().target_ip == Ipv4Address{{10, 0, 0, 2}});
}

TEST_CASE("emit produces the same bytes") {
  std::array<std::byte, kArpPacketBytes> out{};
  ArpRepr repr;
  repr.operation = arp_operation::kRequest;
  repr.sender_mac = {{0x02, 0, 0, 0, 0, 1}};
  repr.sender_ip = {{10, 0, 0, 1}};
  repr.target_ip = {{10, 0, 0, 2}};
  CHECK(emit_arp(repr, out) == kArpPacketBytes);
  CHECK(out == kRequest);
}

TEST_CASE("each malformed class is rejected with its reason") {
  CHECK(parse_arp(std::span(kRequest).first(27)).error() == ArpError::kTruncated);
  auto with = [](std::size_t at, int value) {
    auto p = kRequest;
    p[at] = static_cast<std::byte>(value);
    return parse_arp(p);
  };
  CHECK(with(1, 6).error() == ArpError::kNotEthernetIpv4);     // hardware type 6
  CHECK(with(2, 0x86).error() == ArpError::kNotEthernetIpv4);  // protocol 0x86dd
  CHECK(with(4, 8).error() == ArpError::kNotEthernetIpv4);     // hardware size 8
  CHECK(with(5, 16).error() == ArpError::kNotEthernetIpv4);    // protocol size 16
  CHECK(with(7, 3).error() == ArpError::kBadOperation);        // RARP request
}

}  // namespace
}  // namespace pollstack::wire
