#pragma once
/// Ethernet II frames: a typed view over the 14-byte header (no 802.1Q tags, no FCS: the NIC
/// strips it). parse() rejects before reading; emit() writes into a caller's buffer.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>

#include "layers/common/bytes.h"
#include "layers/common/parsed.h"

namespace pollstack::wire {

/// Eight-byte aligned (two bytes of padding): copied as one 8-byte move. At six bytes it was copied
/// as a 4- and a 2-byte store, and the Result or optional holding it was then read back with one
/// 8-byte load, which the store buffer cannot forward: a stall of about a dozen cycles, several
/// per transmit where the neighbour cache's answer travels up to the Ethernet header (perf
/// annotate, benchmarks/udp_path).
struct alignas(8) MacAddress {
  std::array<std::uint8_t, 6> octets{};
  // Compared as a 4-byte and a 2-byte load, not with the defaulted array comparison's memcmp call
  // (see Ipv4Address) nor by assembling a word from six bytes: that loop was ~75 instructions per
  // received frame (the destination check, callgrind, benchmarks/udp_path).
  friend constexpr bool operator==(const MacAddress& a, const MacAddress& b) {
    if (std::is_constant_evaluated()) return a.octets == b.octets;
    std::uint32_t a4, b4;
    std::uint16_t a2, b2;
    std::memcpy(&a4, a.octets.data(), 4);
    std::memcpy(&b4, b.octets.data(), 4);
    std::memcpy(&a2, a.octets.data() + 4, 2);
    std::memcpy(&b2, b.octets.data() + 4, 2);
    return ((a4 ^ b4) | static_cast<std::uint32_t>(a2 ^ b2)) == 0;
  }
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

/// Parses into the caller's `repr` (left unspecified on an error); the payload is the bytes after
/// the header. The receive path's form: the header is read where it was written (see
/// parse_ipv4_into).
constexpr std::optional<EthernetError> parse_ethernet_into(std::span<const std::byte> frame, EthernetRepr& repr) {
  if (frame.size() < kEthernetHeaderBytes) return EthernetError::kTruncated;
  if (std::is_constant_evaluated()) {
    for (std::size_t i = 0; i < 6; ++i) {
      repr.destination.octets[i] = static_cast<std::uint8_t>(frame[i]);
      repr.source.octets[i] = static_cast<std::uint8_t>(frame[6 + i]);
    }
  } else {
    std::memcpy(repr.destination.octets.data(), frame.data(), 6);
    std::memcpy(repr.source.octets.data(), frame.data() + 6, 6);
  }
  repr.ethertype = read_u16(frame, 12);
  return std::nullopt;
}

constexpr Parsed<EthernetRepr, EthernetError> parse_ethernet(std::span<const std::byte> frame) {
  EthernetRepr repr;
  if (const std::optional<EthernetError> bad = parse_ethernet_into(frame, repr)) return *bad;
  return {repr, frame.subspan(kEthernetHeaderBytes)};
}

/// Writes the header at the start of `out` (which must hold kEthernetHeaderBytes). Returns the
/// header length; the payload goes right after it.
constexpr std::size_t emit_ethernet(const EthernetRepr& repr, std::span<std::byte> out) {
  expect(out.size() >= kEthernetHeaderBytes, "emit_ethernet: buffer too small");
  if (std::is_constant_evaluated()) {
    for (std::size_t i = 0; i < 6; ++i) {
      out[i] = static_cast<std::byte>(repr.destination.octets[i]);
      out[6 + i] = static_cast<std::byte>(repr.source.octets[i]);
    }
  } else {
    std::memcpy(out.data(), repr.destination.octets.data(), 6);
    std::memcpy(out.data() + 6, repr.source.octets.data(), 6);
  }
  write_u16(out, 12, repr.ethertype);
  return kEthernetHeaderBytes;
}

}  // namespace pollstack::wire
