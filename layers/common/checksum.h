#pragma once
/// The Internet checksum (RFC 1071): the one's complement of the one's complement sum of 16-bit
/// big-endian words. Correct for odd lengths (the last byte is padded with a zero byte), and
/// composable: sum the pieces (a pseudo-header, a header, a payload) with `accumulate`, then
/// `finish` once. A piece of odd length may only be the last one.

#include <cstddef>
#include <cstdint>
#include <span>

namespace pollstack::wire {

/// Adds `bytes` to a running sum (carries are folded in finish()). Sums eight bytes per step into
/// a 64-bit accumulator and folds once at the end: the one's complement sum is associative, and
/// no realistic length can overflow 64 bits (2^46 bytes would be needed).
constexpr std::uint32_t checksum_accumulate(std::span<const std::byte> bytes, std::uint32_t sum = 0) {
  auto word = [&bytes](std::size_t at) {
    return (static_cast<std::uint64_t>(bytes[at]) << 8) | static_cast<std::uint64_t>(bytes[at + 1]);
  };
  std::uint64_t acc = sum;
  std::size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) acc += word(i) + word(i + 2) + word(i + 4) + word(i + 6);
  for (; i + 1 < bytes.size(); i += 2) acc += word(i);
  if (i < bytes.size()) acc += static_cast<std::uint64_t>(bytes[i]) << 8;
  while (acc >> 32) acc = (acc & 0xffffffffu) + (acc >> 32);
  acc = (acc & 0xffff) + (acc >> 16);
  acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<std::uint32_t>(acc);
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
