#pragma once
/// The Internet checksum (RFC 1071): the one's complement of the one's complement sum of 16-bit
/// big-endian words. Correct for odd lengths (the last byte is padded with a zero byte), and
/// composable: sum the pieces (a pseudo-header, a header, a payload) with `accumulate`, then
/// `finish` once. A piece of odd length may only be the last one.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace pollstack::wire {

namespace checksum_detail {

/// Folds a 64-bit one's complement sum to 16 bits (2^16 is 1 modulo 0xffff, so adding the halves
/// keeps the value).
constexpr std::uint32_t fold(std::uint64_t acc) {
  acc = (acc & 0xffffffffu) + (acc >> 32);
  acc = (acc & 0xffffffffu) + (acc >> 32);
  acc = (acc & 0xffff) + (acc >> 16);
  acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<std::uint32_t>(acc);
}

/// The definition, one big-endian 16-bit word at a time: what constant evaluation uses (no
/// memcpy there) and what the fast path is tested against.
constexpr std::uint32_t sum_big_endian_words(std::span<const std::byte> bytes) {
  std::uint64_t acc = 0;
  std::size_t i = 0;
  for (; i + 1 < bytes.size(); i += 2) {
    acc += (static_cast<std::uint64_t>(bytes[i]) << 8) | static_cast<std::uint64_t>(bytes[i + 1]);
  }
  if (i < bytes.size()) acc += static_cast<std::uint64_t>(bytes[i]) << 8;
  return fold(acc);
}

/// The same sum eight bytes per load. RFC 1071 section 2(B): the one's complement sum does not
/// depend on byte order, so the words are added in the machine's order and the 16-bit result is
/// swapped once at the end. Two independent 64-bit accumulators each count their own carries
/// (2^64 is 1 modulo 0xffff, so a carry adds 1); the loads are unaligned-safe memcpys.
inline std::uint32_t sum_native_words(std::span<const std::byte> bytes) {
  const std::byte* p = bytes.data();
  std::size_t n = bytes.size();
  std::uint64_t a = 0, b = 0, carries = 0;
  for (; n >= 16; p += 16, n -= 16) {
    std::uint64_t w0, w1;
    std::memcpy(&w0, p, 8);
    std::memcpy(&w1, p + 8, 8);
    carries += __builtin_add_overflow(a, w0, &a);
    carries += __builtin_add_overflow(b, w1, &b);
  }
  std::uint64_t acc = fold(a) + fold(b) + carries;
  for (; n >= 2; p += 2, n -= 2) {
    std::uint16_t w;
    std::memcpy(&w, p, 2);
    acc += w;
  }
  if (n != 0) {  // the odd last byte, padded with zero: in memory order, as the others
    std::uint16_t w = 0;
    std::memcpy(&w, p, 1);
    acc += w;
  }
  const std::uint32_t sum = fold(acc);
  if constexpr (std::endian::native == std::endian::little) return ((sum & 0xff) << 8) | (sum >> 8);
  return sum;
}

/// The sum of `bytes`: the definition in constant evaluation (no memcpy there), the fast path at
/// run time. An `if`, not a conditional initializing a `const` local: such an initializer is first
/// tried as a constant expression, where is_constant_evaluated() is true (clang warns about it).
constexpr std::uint32_t sum_words(std::span<const std::byte> bytes) {
  if (std::is_constant_evaluated()) return sum_big_endian_words(bytes);
  return sum_native_words(bytes);
}

}  // namespace checksum_detail

/// Adds `bytes` to a running sum (`sum` and the result are 16-bit sums, not yet complemented).
/// The hot path of every checksummed layer (benchmarks/checksum compares it with the definition).
constexpr std::uint32_t checksum_accumulate(std::span<const std::byte> bytes, std::uint32_t sum = 0) {
  return checksum_detail::fold(static_cast<std::uint64_t>(checksum_detail::sum_words(bytes)) + sum);
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
