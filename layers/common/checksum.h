#pragma once
/// The Internet checksum (RFC 1071): the one's complement of the one's complement sum of 16-bit
/// big-endian words. Correct for odd lengths (the last byte is padded with a zero byte), and
/// composable: sum the pieces (a pseudo-header, a header, a payload) with `accumulate`, then
/// `finish` once. A piece of odd length may only be the last one.

#include <cstddef>
#include <cstdint>
#include <span>

namespace pollstack::wire {

/// Adds `bytes` to a running 32-bit sum (carries are folded in finish()).
constexpr std::uint32_t checksum_accumulate(std::span<const std::byte> bytes, std::uint32_t sum = 0) {
  std::size_t i = 0;
  for (; i + 1 < bytes.size(); i += 2) {
    sum += (static_cast<std::uint32_t>(bytes[i]) << 8) | static_cast<std::uint32_t>(bytes[i + 1]);
    sum = (sum & 0xffff) + (sum >> 16);  // fold as we go: no overflow for any length
  }
  if (i < bytes.size()) {
    sum += static_cast<std::uint32_t>(bytes[i]) << 8;
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return sum;
}

/// Adds one 16-bit value (a pseudo-header field) to a running sum.
constexpr std::uint32_t checksum_accumulate_word(std::uint16_t word, std::uint32_t sum) {
  sum += word;
  return (sum & 0xffff) + (sum >> 16);
}

/// The checksum field value for a running sum.
constexpr std::uint16_t checksum_finish(std::uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum & 0xffff);
}

/// True if data whose checksum field is included sums to all ones (a valid checksum).
constexpr bool checksum_valid(std::uint32_t sum_including_checksum_field) {
  return checksum_finish(sum_including_checksum_field) == 0;
}

}  // namespace pollstack::wire
