#pragma once
/// IPv4 headers (RFC 791): parse checks everything before trusting anything, emit fills in the
/// checksum. Options and fragments are rejected with their own reasons (this stack sends neither
/// and does not reassemble yet).

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "layers/common/bytes.h"
#include "layers/common/checksum.h"
#include "layers/common/parsed.h"
#include "layers/common/pseudo_header.h"

namespace pollstack::wire {

struct Ipv4Address {
  std::array<std::uint8_t, 4> octets{};
  // Compared as one word: the defaulted array comparison becomes a memcmp call per address,
  // and the neighbour cache and the receive filter compare addresses on every packet.
  friend constexpr bool operator==(const Ipv4Address& a, const Ipv4Address& b) { return a.to_u32() == b.to_u32(); }
  constexpr std::uint32_t to_u32() const {
    return (std::uint32_t{octets[0]} << 24) | (std::uint32_t{octets[1]} << 16) | (std::uint32_t{octets[2]} << 8) |
           octets[3];
  }
  static constexpr Ipv4Address from_u32(std::uint32_t v) {
    return {{static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16), static_cast<std::uint8_t>(v >> 8),
             static_cast<std::uint8_t>(v)}};
  }
};

namespace ip_protocol {
inline constexpr std::uint8_t kIcmp = 1;
inline constexpr std::uint8_t kTcp = 6;
inline constexpr std::uint8_t kUdp = 17;
}  // namespace ip_protocol

inline constexpr std::size_t kIpv4HeaderBytes = 20;  // without options: all this stack emits

struct Ipv4Repr {
  Ipv4Address source;
  Ipv4Address destination;
  std::uint8_t protocol = 0;
  std::uint8_t ttl = 64;
  std::uint16_t identification = 0;
  std::uint16_t payload_length = 0;  // bytes after the header
};

enum class Ipv4Error : std::uint8_t {
  kTruncated,            // shorter than 20 bytes
  kBadVersion,           // version field is not 4
  kBadHeaderLength,      // IHL < 5
  kOptions,              // IHL > 5: options are not supported
  kTotalLengthTooSmall,  // total length < header length
  kTotalLengthTooLarge,  // total length > bytes in the frame
  kBadChecksum,
  kFragment,  // more-fragments set or a fragment offset: no reassembly yet
};
inline constexpr std::size_t kIpv4ErrorKinds = 8;

namespace internal {
// parse_ipv4 and parse_ipv4_quote share every check but one: whether the whole packet is there.
enum class Ipv4Extent : std::uint8_t { kWholePacket, kQuote };

constexpr std::optional<Ipv4Error> parse_ipv4_into(std::span<const std::byte> packet, Ipv4Extent extent, Ipv4Repr& repr,
                                                   std::span<const std::byte>& payload) {
  if (packet.size() < kIpv4HeaderBytes) return Ipv4Error::kTruncated;
  const auto version_ihl = static_cast<std::uint8_t>(packet[0]);
  if ((version_ihl >> 4) != 4) return Ipv4Error::kBadVersion;
  const std::size_t header_bytes = std::size_t{version_ihl & 0x0fu} * 4;
  if (header_bytes < kIpv4HeaderBytes) return Ipv4Error::kBadHeaderLength;
  if (header_bytes > kIpv4HeaderBytes) return Ipv4Error::kOptions;
  const std::size_t total_length = read_u16(packet, 2);
  if (total_length < header_bytes) return Ipv4Error::kTotalLengthTooSmall;
  if (extent == Ipv4Extent::kWholePacket && total_length > packet.size()) return Ipv4Error::kTotalLengthTooLarge;
  if (!checksum_valid(checksum_accumulate(packet.first(header_bytes)))) return Ipv4Error::kBadChecksum;
  const std::uint16_t flags_fragment = read_u16(packet, 6);
  if ((flags_fragment & 0x2000) != 0 || (flags_fragment & 0x1fff) != 0) return Ipv4Error::kFragment;

  repr.identification = read_u16(packet, 4);
  repr.ttl = static_cast<std::uint8_t>(packet[8]);
  repr.protocol = static_cast<std::uint8_t>(packet[9]);
  repr.source = Ipv4Address::from_u32(read_u32(packet, 12));
  repr.destination = Ipv4Address::from_u32(read_u32(packet, 16));
  repr.payload_length = static_cast<std::uint16_t>(total_length - header_bytes);
  const std::size_t present = total_length < packet.size() ? total_length : packet.size();
  payload = packet.subspan(header_bytes, present - header_bytes);
  return std::nullopt;
}

constexpr Parsed<Ipv4Repr, Ipv4Error> parse_ipv4(std::span<const std::byte> packet, Ipv4Extent extent) {
  Ipv4Repr repr;
  std::span<const std::byte> payload;
  if (const std::optional<Ipv4Error> bad = parse_ipv4_into(packet, extent, repr, payload)) return *bad;
  return {repr, payload};
}
}  // namespace internal

/// Parses an IPv4 packet. The payload is exactly total_length - 20 bytes: Ethernet padding after
/// a short packet is cut off here.
constexpr Parsed<Ipv4Repr, Ipv4Error> parse_ipv4(std::span<const std::byte> packet) {
  return internal::parse_ipv4(packet, internal::Ipv4Extent::kWholePacket);
}

/// parse_ipv4 into the caller's `repr` and `payload` (left unspecified on an error): the receive
/// path parses straight into the Received it hands up. A header built in one place and copied to
/// another was written field by field and read back in wide loads, which the store buffer cannot
/// forward (a stall per packet, perf annotate, benchmarks/udp_path).
constexpr std::optional<Ipv4Error> parse_ipv4_into(std::span<const std::byte> packet, Ipv4Repr& repr,
                                                   std::span<const std::byte>& payload) {
  return internal::parse_ipv4_into(packet, internal::Ipv4Extent::kWholePacket, repr, payload);
}

/// Parses the start of an IPv4 packet quoted in an ICMP error (RFC 792: the header and the first
/// 8 bytes of payload), with every check parse_ipv4 makes except that the whole packet is present.
/// The payload is what was quoted of it; repr().payload_length is the original length.
constexpr Parsed<Ipv4Repr, Ipv4Error> parse_ipv4_quote(std::span<const std::byte> quote) {
  return internal::parse_ipv4(quote, internal::Ipv4Extent::kQuote);
}

/// Writes a 20-byte header with the don't-fragment bit and a correct checksum at the start of
/// `out`. Returns the header length.
///
/// The checksum is summed from the fields' values before they are written, not read back from
/// the buffer (a wide load of bytes just written by narrow stores stalls on store forwarding).
constexpr std::size_t emit_ipv4(const Ipv4Repr& repr, std::span<std::byte> out) {
  expect(out.size() >= kIpv4HeaderBytes, "emit_ipv4: buffer too small");
  expect(repr.payload_length <= 0xffff - kIpv4HeaderBytes, "emit_ipv4: payload too long");
  constexpr std::uint16_t kVersionIhlTos = 0x4500;  // version 4, IHL 5, DSCP/ECN 0
  constexpr std::uint16_t kDontFragment = 0x4000;
  const auto total_length = static_cast<std::uint16_t>(kIpv4HeaderBytes + repr.payload_length);
  const auto ttl_protocol = static_cast<std::uint16_t>((repr.ttl << 8) | repr.protocol);
  const std::uint32_t source = repr.source.to_u32();
  const std::uint32_t destination = repr.destination.to_u32();
  const std::uint32_t sum = std::uint32_t{kVersionIhlTos} + total_length + repr.identification + kDontFragment +
                            ttl_protocol + (source >> 16) + (source & 0xffff) + (destination >> 16) +
                            (destination & 0xffff);
  write_u32(out, 0, (std::uint32_t{kVersionIhlTos} << 16) | total_length);
  write_u32(out, 4, (std::uint32_t{repr.identification} << 16) | kDontFragment);
  write_u32(out, 8, (std::uint32_t{ttl_protocol} << 16) | checksum_finish(sum));
  write_u32(out, 12, source);
  write_u32(out, 16, destination);
  return kIpv4HeaderBytes;
}

/// The IPv4 pseudo-header of a UDP or TCP segment from `source` to `destination` (its length is
/// added by the transport codec).
constexpr PseudoHeader ipv4_pseudo_header(const Ipv4Address& source, const Ipv4Address& destination,
                                          std::uint8_t protocol) {
  const std::uint32_t s = source.to_u32();
  const std::uint32_t d = destination.to_u32();
  return PseudoHeader{(s >> 16) + (s & 0xffff) + (d >> 16) + (d & 0xffff) + protocol, true};
}

}  // namespace pollstack::wire
