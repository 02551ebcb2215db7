#include "layers/common/ip_address.h"

#include <doctest/doctest.h>

namespace pollstack::wire {
namespace {

constexpr Ipv4Address kV4{{10, 0, 0, 1}};
constexpr Ipv6Address kV6{{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};

TEST_CASE("an IP address holds either version and compares only within one") {
  constexpr IpAddress a = kV4;
  static_assert(a.is_v4() && a.v4() == kV4);
  constexpr IpAddress b = kV6;
  static_assert(b.is_v6() && b.v6() == kV6);
  CHECK(a == IpAddress(kV4));
  CHECK(a == kV4);  // an Ipv4Address converts
  CHECK_FALSE(a == b);
  // The same 4 leading bytes in an IPv6 address are a different address.
  Ipv6Address v6_with_v4_bytes{};
  v6_with_v4_bytes.octets[0] = 10;
  v6_with_v4_bytes.octets[3] = 1;
  CHECK_FALSE(IpAddress(v6_with_v4_bytes) == a);
  CHECK(IpAddress() == Ipv4Address{});  // default: 0.0.0.0
}

TEST_CASE("an endpoint is an address and a port") {
  const pollstack::net::IpEndpoint e{kV4, 7};
  CHECK(e == pollstack::net::IpEndpoint{IpAddress(kV4), 7});
  CHECK_FALSE(e == pollstack::net::IpEndpoint{kV6, 7});
  CHECK_FALSE(e == pollstack::net::IpEndpoint{kV4, 8});
}

}  // namespace
}  // namespace pollstack::wire
