#pragma once
/// UDP datagrams over IPv4 (RFC 768): parse checks the length field against the IP payload and
/// the checksum over the pseudo-header; emit writes the header and the checksum for a payload that
/// is already in place after it.

#include <cstddef>
#include <cstdint>
#include <span>

#include "layers/common/bytes.h"
#include "layers/common/checksum.h"
#include "layers/common/parsed.h"
#include "layers/ipv4/ipv4_wire.h"

namespace pollstack::wire {

inline constexpr std::size_t kUdpHeaderBytes = 8;

struct UdpRepr {
  std::uint16_t source_port = 0;
  std::uint16_t destination_port = 0;
};

enum class UdpError : std::uint8_t {
  kTruncated,          // fewer than 8 bytes
  kLengthTooSmall,     // length field < 8
  kLengthTooLarge,     // length field > the IP payload
  kBadChecksum,
};
inline constexpr std::size_t kUdpErrorKinds = 4;

/// Parses the UDP datagram that is `ip`'s payload. A zero checksum means "not computed" (allowed
/// over IPv4) and is accepted. The payload is exactly length - 8 bytes.
constexpr Parsed<UdpRepr, UdpError> parse_udp(const Ipv4Repr& ip, std::span<const std::byte> datagram) {
  if (datagram.size() < kUdpHeaderBytes) return UdpError::kTruncated;
  const std::size_t length = read_u16(datagram, 4);
  if (length < kUdpHeaderBytes) return UdpError::kLengthTooSmall;
  if (length > datagram.size()) return UdpError::kLengthTooLarge;
  if (read_u16(datagram, 6) != 0) {
    const std::uint32_t sum = checksum_accumulate(
        datagram.first(length),
        ipv4_pseudo_header_sum(ip.source, ip.destination, ip_protocol::kUdp, static_cast<std::uint16_t>(length)));
    if (!checksum_valid(sum)) return UdpError::kBadChecksum;
  }
  UdpRepr repr{read_u16(datagram, 0), read_u16(datagram, 2)};
  return {repr, datagram.subspan(kUdpHeaderBytes, length - kUdpHeaderBytes)};
}

/// Writes the header at the start of `datagram`, whose payload (payload_length bytes) already
/// follows it, and computes the checksum. Returns header + payload length.
constexpr std::size_t emit_udp(const UdpRepr& repr, const Ipv4Address& source, const Ipv4Address& destination,
                               std::size_t payload_length, std::span<std::byte> datagram) {
  const std::size_t length = kUdpHeaderBytes + payload_length;
  expect(length <= datagram.size() && length <= 0xffff, "emit_udp: datagram does not fit");
  write_u16(datagram, 0, repr.source_port);
  write_u16(datagram, 2, repr.destination_port);
  write_u16(datagram, 4, static_cast<std::uint16_t>(length));
  write_u16(datagram, 6, 0);
  std::uint16_t checksum = checksum_finish(checksum_accumulate(
      datagram.first(length),
      ipv4_pseudo_header_sum(source, destination, ip_protocol::kUdp, static_cast<std::uint16_t>(length))));
  if (checksum == 0) checksum = 0xffff;  // 0 would mean "no checksum"
  write_u16(datagram, 6, checksum);
  return length;
}

}  // namespace pollstack::wire
