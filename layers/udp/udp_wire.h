#pragma once
/// UDP datagrams (RFC 768): parse checks the length field against the IP payload and the checksum
/// over the pseudo-header; emit writes the header and the checksum for a payload that is already
/// in place after it. The IP version is the caller's: it passes the PseudoHeader
/// (layers/common/pseudo_header.h), not an IP header.

#include <cstddef>
#include <cstdint>
#include <span>

#include "layers/common/bytes.h"
#include "layers/common/checksum.h"
#include "layers/common/parsed.h"
#include "layers/common/pseudo_header.h"

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

/// Parses the UDP datagram that is an IP packet's payload (`datagram`: all of it). A zero checksum
/// means "not computed" where the pseudo-header allows it (IPv4) and is then accepted. The payload
/// is exactly length - 8 bytes.
constexpr Parsed<UdpRepr, UdpError> parse_udp(std::span<const std::byte> datagram, const PseudoHeader& pseudo) {
  if (datagram.size() < kUdpHeaderBytes) return UdpError::kTruncated;
  const std::size_t length = read_u16(datagram, 4);
  if (length < kUdpHeaderBytes) return UdpError::kLengthTooSmall;
  if (length > datagram.size()) return UdpError::kLengthTooLarge;
  if (read_u16(datagram, 6) == 0 && !pseudo.zero_checksum_means_none) return UdpError::kBadChecksum;
  if (read_u16(datagram, 6) != 0) {
    const std::uint32_t sum = checksum_accumulate(datagram.first(length), pseudo.sum_with_length(length));
    if (!checksum_valid(sum)) return UdpError::kBadChecksum;
  }
  UdpRepr repr{read_u16(datagram, 0), read_u16(datagram, 2)};
  return {repr, datagram.subspan(kUdpHeaderBytes, length - kUdpHeaderBytes)};
}

/// Writes the header at the start of `datagram`, whose payload (payload_length bytes) already
/// follows it and sums to `payload_sum` (checksum_accumulate of it, or of checksum_copy() that put
/// it there), and the checksum. Returns header + payload length.
///
/// The header's words enter the checksum as values, not read back from the buffer: reading 8
/// bytes just written as four 2-byte stores cannot be forwarded from the store buffer and stalled
/// every transmit (perf annotate, benchmarks/udp_path).
constexpr std::size_t emit_udp_header(const UdpRepr& repr, const PseudoHeader& pseudo, std::size_t payload_length,
                                      std::uint32_t payload_sum, std::span<std::byte> datagram) {
  const std::size_t length = kUdpHeaderBytes + payload_length;
  expect(length <= datagram.size() && length <= 0xffff, "emit_udp: datagram does not fit");
  const auto length16 = static_cast<std::uint16_t>(length);
  const std::uint32_t header_sum = std::uint32_t{repr.source_port} + repr.destination_port + length16;
  std::uint16_t checksum = checksum_finish(payload_sum + pseudo.sum_with_length(length16) + header_sum);
  if (checksum == 0) checksum = 0xffff;  // 0 would mean "no checksum" (RFC 768; RFC 8200 §8.1)
  write_u16(datagram, 0, repr.source_port);
  write_u16(datagram, 2, repr.destination_port);
  write_u16(datagram, 4, length16);
  write_u16(datagram, 6, checksum);
  return length;
}

/// emit_udp_header() for a payload that is in place: sums it first.
constexpr std::size_t emit_udp(const UdpRepr& repr, const PseudoHeader& pseudo, std::size_t payload_length,
                               std::span<std::byte> datagram) {
  expect(kUdpHeaderBytes + payload_length <= datagram.size(), "emit_udp: datagram does not fit");
  const std::uint32_t payload_sum = checksum_accumulate(datagram.subspan(kUdpHeaderBytes, payload_length));
  return emit_udp_header(repr, pseudo, payload_length, payload_sum, datagram);
}

}  // namespace pollstack::wire
