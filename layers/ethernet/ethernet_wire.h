#pragma once
/// Ethernet II frames: a typed view over the 14-byte header (no 802.1Q tags, no FCS: the NIC
/// strips it). parse() rejects before reading; emit() writes into a caller's buffer.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "layers/common/bytes.h"
#include "layers/common/parsed.h"

namespace pollstack::wire {

struct MacAddress {
  std::array<std::uint8_t, 6> octets{};
  // Compared as one word, not with the defaulted array comparison's memcmp call (see Ipv4Address).
  constexpr std::uint64_t to_u64() const {
    std::uint64_t v = 0;
    for (std::uint8_t o : octets) v = (v << 8) | o;
    return v;
  }
  friend constexpr bool operator==(const MacAddress& a, const MacAddress& b) { return a.to_u64() == b.to_u64(); }
  static constexpr MacAddress broadcast() { return {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}; }
  /// A group address (broadcast or multicast): the first octet's lowest bit (IEEE 802-2014 §8.2).
  constexpr bool is_group() const { return (octets[0] & 1) != 0; }
};

namespace ethertype {
inline constexpr std::uint16_t kIpv4 = 0x0800;
inline constexpr std::uint16_t kArp = 0x0806;
}  // namespace ethertype

inline constexpr std::size_t kEthernetHeaderBytes = 14;
inline constexpr std::size_t kEthernetMinFrameBytes = 60;  // without FCS; shorter frames are padded

struct EthernetRepr {
  MacAddress destination;
  MacAddress source;
  std::uint16_t ethertype = 0;
};

enum class EthernetError : std::uint8_t {
  kTruncated,  // shorter than the 14-byte header
};
inline constexpr std::size_t kEthernetErrorKinds = 1;

constexpr Parsed<EthernetRepr, EthernetError> parse_ethernet(std::span<const std::byte> frame) {
  if (frame.size() < kEthernetHeaderBytes) return EthernetError::kTruncated;
  EthernetRepr repr;
  for (std::size_t i = 0; i < 6; ++i) {
    repr.destination.octets[i] = static_cast<std::uint8_t>(frame[i]);
    repr.source.octets[i] = static_cast<std::uint8_t>(frame[6 + i]);
  }
  repr.ethertype = read_u16(frame, 12);
  return {repr, frame.subspan(kEthernetHeaderBytes)};
}

/// Writes the header at the start of `out` (which must hold kEthernetHeaderBytes). Returns the
/// header length; the payload goes right after it.
constexpr std::size_t emit_ethernet(const EthernetRepr& repr, std::span<std::byte> out) {
  expect(out.size() >= kEthernetHeaderBytes, "emit_ethernet: buffer too small");
  for (std::size_t i = 0; i < 6; ++i) {
    out[i] = static_cast<std::byte>(repr.destination.octets[i]);
    out[6 + i] = static_cast<std::byte>(repr.source.octets[i]);
  }
  write_u16(out, 12, repr.ethertype);
  return kEthernetHeaderBytes;
}

}  // namespace pollstack::wire
