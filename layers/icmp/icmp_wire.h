#pragma once
/// ICMPv4 (RFC 792), the two messages this stack handles: echo (request and reply) and
/// destination unreachable. The checksum covers the whole ICMP message.

#include <cstddef>
#include <cstdint>
#include <span>

#include "layers/common/bytes.h"
#include "layers/common/checksum.h"
#include "layers/common/parsed.h"

namespace pollstack::wire {

inline constexpr std::size_t kIcmpHeaderBytes = 8;

namespace icmp_type {
inline constexpr std::uint8_t kEchoReply = 0;
inline constexpr std::uint8_t kDestinationUnreachable = 3;
inline constexpr std::uint8_t kEchoRequest = 8;
}  // namespace icmp_type

namespace icmp_unreachable_code {
inline constexpr std::uint8_t kProtocolUnreachable = 2;
inline constexpr std::uint8_t kPortUnreachable = 3;
}  // namespace icmp_unreachable_code

struct IcmpRepr {
  std::uint8_t type = 0;
  std::uint8_t code = 0;
  // Echo: identifier and sequence number. Unreachable: unused (zero) or next-hop MTU.
  std::uint16_t identifier = 0;
  std::uint16_t sequence = 0;
};

enum class IcmpError : std::uint8_t {
  kTruncated,    // fewer than 8 bytes
  kBadChecksum,
};
inline constexpr std::size_t kIcmpErrorKinds = 2;

/// Parses an ICMP message (the whole IP payload). The payload is everything after the 8-byte
/// header: echo data, or the start of the datagram an error refers to.
constexpr Parsed<IcmpRepr, IcmpError> parse_icmp(std::span<const std::byte> message) {
  if (message.size() < kIcmpHeaderBytes) return IcmpError::kTruncated;
  if (!checksum_valid(checksum_accumulate(message))) return IcmpError::kBadChecksum;
  const IcmpRepr repr{static_cast<std::uint8_t>(message[0]), static_cast<std::uint8_t>(message[1]),
                      read_u16(message, 4), read_u16(message, 6)};
  return {repr, message.subspan(kIcmpHeaderBytes)};
}

/// Writes the header at the start of `message`, whose payload (payload_length bytes) already
/// follows it, and computes the checksum. Returns header + payload length.
constexpr std::size_t emit_icmp(const IcmpRepr& repr, std::size_t payload_length, std::span<std::byte> message) {
  const std::size_t length = kIcmpHeaderBytes + payload_length;
  expect(length <= message.size(), "emit_icmp: message does not fit");
  message[0] = static_cast<std::byte>(repr.type);
  message[1] = static_cast<std::byte>(repr.code);
  write_u16(message, 2, 0);
  write_u16(message, 4, repr.identifier);
  write_u16(message, 6, repr.sequence);
  write_u16(message, 2, checksum_finish(checksum_accumulate(message.first(length))));
  return length;
}

}  // namespace pollstack::wire
