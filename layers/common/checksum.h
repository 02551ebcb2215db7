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

#include "statemachines/contract.h"

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

/// The sum of the last `n` (< 16) bytes at `p`, in the machine's byte order, into `acc`: one
/// load each of 8, 4, 2 and 1 bytes where the length has that bit, instead of a loop of 16-bit
/// words (an IPv4 header is 16 + 4 bytes, a UDP header 8).
inline std::uint64_t sum_native_tail(const std::byte* p, std::size_t n, std::uint64_t acc) {
  if (n & 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    acc += (w & 0xffffffffu) + (w >> 32);  // halves: no carry lost in 64 bits
    p += 8;
  }
  if (n & 4) {
    std::uint32_t w;
    std::memcpy(&w, p, 4);
    acc += w;
    p += 4;
  }
  if (n & 2) {
    std::uint16_t w;
    std::memcpy(&w, p, 2);
    acc += w;
    p += 2;
  }
  if (n & 1) {  // the odd last byte, padded with zero: in memory order, as the others
    std::uint16_t w = 0;
    std::memcpy(&w, p, 1);
    acc += w;
  }
  return acc;
}

/// A sum of native-order words folded to 16 bits, as the big-endian sum: RFC 1071 section 2(B),
/// the one's complement sum does not depend on byte order, so it is swapped once at the end.
inline std::uint32_t to_big_endian_sum(std::uint64_t acc) {
  const std::uint32_t sum = fold(acc);
  if constexpr (std::endian::native == std::endian::little) return ((sum & 0xff) << 8) | (sum >> 8);
  return sum;
}

/// The 16-bytes-at-a-time part of the sum below: two independent 64-bit accumulators, each
/// counting its own carries (2^64 is 1 modulo 0xffff, so a carry adds 1); the loads are
/// unaligned-safe memcpys. Returns the sum of the first `n & ~15` bytes, not yet folded.
///
/// Out of line on purpose: inlined into a large caller (the whole receive path is one function
/// once the layers are inlined into the application's task), the accumulators were spilled to the
/// stack, one memory round trip per 16 bytes: +100 ns for a 1472-byte datagram in
/// benchmarks/udp_path (perf annotate showed `adc %r13,-0x3d0(%rbp)` in the loop). A leaf function
/// keeps them in registers whatever the caller; the call costs a few cycles, paid only for pieces
/// of 32 bytes and more (headers stay inline).
[[gnu::noinline]] inline std::uint64_t sum_blocks(const std::byte* p, std::size_t n) {
  std::uint64_t a = 0, b = 0, carries = 0;
  for (; n >= 16; p += 16, n -= 16) {
    std::uint64_t w0, w1;
    std::memcpy(&w0, p, 8);
    std::memcpy(&w1, p + 8, 8);
    carries += __builtin_add_overflow(a, w0, &a);
    carries += __builtin_add_overflow(b, w1, &b);
  }
  return std::uint64_t{fold(a)} + fold(b) + carries;
}

/// sum_blocks() that also copies the blocks from `from` to `to` (which must not overlap): one load
/// per 8 bytes feeds both the store and the sum. Out of line for the same reason.
[[gnu::noinline]] inline std::uint64_t copy_sum_blocks(std::byte* to, const std::byte* from, std::size_t n) {
  std::uint64_t a = 0, b = 0, carries = 0;
  for (; n >= 16; from += 16, to += 16, n -= 16) {
    std::uint64_t w0, w1;
    std::memcpy(&w0, from, 8);
    std::memcpy(&w1, from + 8, 8);
    std::memcpy(to, &w0, 8);
    std::memcpy(to + 8, &w1, 8);
    carries += __builtin_add_overflow(a, w0, &a);
    carries += __builtin_add_overflow(b, w1, &b);
  }
  return std::uint64_t{fold(a)} + fold(b) + carries;
}

inline constexpr std::size_t kInlineSumBytes = 32;  // shorter pieces are summed inline

/// The same sum eight bytes per load, in the machine's byte order.
inline std::uint32_t sum_native_words(std::span<const std::byte> bytes) {
  const std::byte* p = bytes.data();
  std::size_t n = bytes.size();
  std::uint64_t acc = 0;
  if (n >= kInlineSumBytes) {
    acc = sum_blocks(p, n);
    p += n & ~std::size_t{15};
    n &= 15;
  }
  if (n >= 16) {  // 16..31 bytes left (an IPv4 header): one block, inline
    std::uint64_t w0, w1;
    std::memcpy(&w0, p, 8);
    std::memcpy(&w1, p + 8, 8);
    acc += (w0 & 0xffffffffu) + (w0 >> 32) + (w1 & 0xffffffffu) + (w1 >> 32);
    p += 16;
    n -= 16;
  }
  return to_big_endian_sum(sum_native_tail(p, n, acc));
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

/// Copies `from` to the start of `to` (at least as long; no overlap) and adds the bytes to a running
/// sum, in one pass: what checksum_accumulate(to.first(from.size()), sum) would return after a
/// copy. The transmit path's form for a payload: summing bytes just copied reads them back while
/// the copy's wide stores are still in flight, which the store buffer cannot forward to 8-byte
/// loads (a stall per datagram, perf annotate, benchmarks/udp_path); the sum here is taken from
/// the source, whose bytes are long written.
inline std::uint32_t checksum_copy(std::span<std::byte> to, std::span<const std::byte> from, std::uint32_t sum = 0) {
  expect(to.size() >= from.size(), "checksum_copy: destination too small");
  std::size_t n = from.size();
  if (n == 0) return sum;
  std::uint64_t acc = checksum_detail::copy_sum_blocks(to.data(), from.data(), n);
  const std::size_t done = n & ~std::size_t{15};
  n &= 15;
  std::memcpy(to.data() + done, from.data() + done, n);
  acc = checksum_detail::sum_native_tail(from.data() + done, n, acc);
  return checksum_detail::fold(static_cast<std::uint64_t>(checksum_detail::to_big_endian_sum(acc)) + sum);
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
