#pragma once
/// TransportError: an ICMP error about a segment one of our transports sent, handed to that
/// transport. ICMP parses and checks the quote (the offending packet's IP header, which must be
/// from our address, and at least the first 8 bytes of its transport header: ports for UDP and
/// TCP, RFC 792 / RFC 1122 §3.2.2), and the interface delivers it by the quoted protocol number,
/// through this one path for every transport (UDP and TCP: RFC 9293 §3.9, RFC 1122 §4.2.3.9).

#include <cstdint>
#include <span>

#include "layers/common/ip_address.h"

namespace pollstack::net {

struct TransportError {
  enum class Kind : std::uint8_t {
    kPortUnreachable,  // nobody listens on the remote port (ICMP destination unreachable, code 3)
    kUnreachable,      // net, host or protocol unreachable, administratively prohibited, ...
  };
  Kind kind = Kind::kUnreachable;
  std::uint8_t icmp_code = 0;               // the ICMP code as received
  std::uint8_t protocol = 0;                // the quoted packet's protocol (who gets this)
  wire::IpAddress remote;                   // the quoted packet's destination
  std::span<const std::byte> transport;     // the quoted transport header: at least 8 bytes
};

}  // namespace pollstack::net
