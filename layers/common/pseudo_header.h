#pragma once
/// PseudoHeader: what a transport checksum (UDP, TCP) covers besides the transport's own bytes:
/// the IP addresses and the protocol number (RFC 768; RFC 9293 §3.1; over IPv6, RFC 8200 §8.1),
/// which the IP layer sums, and the transport's length, which the transport adds. Transport codecs
/// take one of these instead of an IP header, so the same codec serves IPv4 and IPv6:
/// ipv4_pseudo_header() (ipv4_wire.h) makes one today; IPv6's will sit beside it.

#include <cstdint>

#include "layers/common/checksum.h"

namespace pollstack::wire {

struct PseudoHeader {
  /// The addresses' and the protocol's 16-bit words, added in 32 bits and not folded (the
  /// transport's checksum_accumulate folds once, at the end): below 2^20 for IPv4, 2^21 for IPv6.
  std::uint32_t partial_sum = 0;
  /// Over IPv4 a UDP checksum of 0 means "none computed" (RFC 768); over IPv6 it is invalid.
  bool zero_checksum_means_none = true;

  /// The whole pseudo-header's sum for a transport of `length` bytes. (IPv4 counts the length in
  /// 16 bits, IPv6 in 32; summing both halves is right for both.)
  constexpr std::uint32_t sum_with_length(std::uint32_t length) const {
    return partial_sum + (length & 0xffff) + (length >> 16);
  }
};

}  // namespace pollstack::wire
