#pragma once
/// ARP for IPv4 over Ethernet (RFC 826): the one hardware/protocol combination this stack speaks.
/// Anything else is rejected with its reason rather than guessed at.

#include <cstddef>
#include <cstdint>
#include <span>

#include "layers/common/bytes.h"
#include "layers/common/parsed.h"
#include "layers/ethernet/ethernet_wire.h"
#include "layers/ipv4/ipv4_wire.h"

namespace pollstack::wire {

inline constexpr std::size_t kArpPacketBytes = 28;

namespace arp_operation {
inline constexpr std::uint16_t kRequest = 1;
inline constexpr std::uint16_t kReply = 2;
}  // namespace arp_operation

struct ArpRepr {
  std::uint16_t operation = arp_operation::kRequest;
  MacAddress sender_mac;
  Ipv4Address sender_ip;
  MacAddress target_mac;
  Ipv4Address target_ip;
};

enum class ArpError : std::uint8_t {
  kTruncated,         // fewer than 28 bytes
  kNotEthernetIpv4,   // hardware type != 1, protocol != 0x0800, or address sizes != 6 / 4
  kBadOperation,      // neither request nor reply
};
inline constexpr std::size_t kArpErrorKinds = 3;

constexpr Parsed<ArpRepr, ArpError> parse_arp(std::span<const std::byte> packet) {
  if (packet.size() < kArpPacketBytes) return ArpError::kTruncated;
  if (read_u16(packet, 0) != 1 || read_u16(packet, 2) != ethertype::kIpv4 || packet[4] != std::byte{6} ||
      packet[5] != std::byte{4}) {
    return ArpError::kNotEthernetIpv4;
  }
  ArpRepr repr;
  repr.operation = read_u16(packet, 6);
  if (repr.operation != arp_operation::kRequest && repr.operation != arp_operation::kReply) {
    return ArpError::kBadOperation;
  }
  for (std::size_t i = 0; i < 6; ++i) {
    repr.sender_mac.octets[i] = static_cast<std::uint8_t>(packet[8 + i]);
    repr.target_mac.octets[i] = static_cast<std::uint8_t>(packet[18 + i]);
  }
  repr.sender_ip = Ipv4Address::from_u32(read_u32(packet, 14));
  repr.target_ip = Ipv4Address::from_u32(read_u32(packet, 24));
  return {repr, packet.subspan(kArpPacketBytes)};
}

/// Writes the 28-byte packet at the start of `out`. Returns its length.
constexpr std::size_t emit_arp(const ArpRepr& repr, std::span<std::byte> out) {
  expect(out.size() >= kArpPacketBytes, "emit_arp: buffer too small");
  write_u16(out, 0, 1);  // Ethernet
  write_u16(out, 2, ethertype::kIpv4);
  out[4] = std::byte{6};
  out[5] = std::byte{4};
  write_u16(out, 6, repr.operation);
  for (std::size_t i = 0; i < 6; ++i) {
    out[8 + i] = static_cast<std::byte>(repr.sender_mac.octets[i]);
    out[18 + i] = static_cast<std::byte>(repr.target_mac.octets[i]);
  }
  write_u32(out, 14, repr.sender_ip.to_u32());
  write_u32(out, 24, repr.target_ip.to_u32());
  return kArpPacketBytes;
}

}  // namespace pollstack::wire
