#pragma once
/// IpAddress and IpEndpoint: an address (and a port) of either IP version, for everything above
/// the network layer: sockets, their endpoints, and what transports report. The stack routes IPv4
/// only today; an IPv6 address is a value a socket can hold and a send refuses
/// (SendError::kAddressFamily) until the IPv6 layer exists, so transports and applications do not
/// change when it comes.

#include <array>
#include <cstdint>
#include <memory>

#include "layers/ipv4/ipv4_wire.h"
#include "statemachines/contract.h"

namespace pollstack::wire {

struct Ipv6Address {
  std::array<std::uint8_t, 16> octets;  // no initializer, so that it can share IpAddress's union
                                        // (value-initialize: `Ipv6Address{}` is all zeros)
  friend constexpr bool operator==(const Ipv6Address&, const Ipv6Address&) = default;
};

class IpAddress {
 public:
  enum class Version : std::uint8_t { kV4 = 4, kV6 = 6 };

  /// 0.0.0.0.
  constexpr IpAddress() noexcept = default;
  /// Implicit: an IPv4 address is an IP address.
  constexpr IpAddress(const Ipv4Address& v4) noexcept : v4_(v4) {}  // NOLINT(google-explicit-constructor)
  constexpr IpAddress(const Ipv6Address& v6) noexcept : version_(Version::kV6), v6_(v6) {}  // NOLINT

  /// Makes this `v4` in place: two stores, where assigning an IpAddress(v4) may build one apart
  /// and copy it in (see Udp's receive queue).
  constexpr void set(const Ipv4Address& v4) noexcept {
    version_ = Version::kV4;
    std::construct_at(&v4_, v4);  // begins v4_'s lifetime, whichever member was active
  }

  constexpr Version version() const noexcept { return version_; }
  constexpr bool is_v4() const noexcept { return version_ == Version::kV4; }
  constexpr bool is_v6() const noexcept { return version_ == Version::kV6; }

  /// The IPv4 address. Only for is_v4() (checked in debug builds).
  constexpr const Ipv4Address& v4() const noexcept {
    expect(is_v4(), "IpAddress::v4() of an IPv6 address");
    return v4_;
  }
  /// The IPv6 address. Only for is_v6() (checked in debug builds).
  constexpr const Ipv6Address& v6() const noexcept {
    expect(is_v6(), "IpAddress::v6() of an IPv4 address");
    return v6_;
  }

  friend constexpr bool operator==(const IpAddress& a, const IpAddress& b) noexcept {
    if (a.version_ != b.version_) return false;
    return a.is_v4() ? a.v4_ == b.v4_ : a.v6_ == b.v6_;
  }

 private:
  Version version_ = Version::kV4;
  union {
    Ipv4Address v4_{};
    Ipv6Address v6_;
  };
};

}  // namespace pollstack::wire

namespace pollstack::net {

/// An address and a port: where a datagram comes from or goes to.
struct IpEndpoint {
  wire::IpAddress address;
  std::uint16_t port = 0;
  friend constexpr bool operator==(const IpEndpoint&, const IpEndpoint&) = default;
};

}  // namespace pollstack::net
