#pragma once
/// Big-endian field access at fixed offsets, for the wire views. Callers check lengths first
/// (each codec's parse() does, before reading any field).
///
/// At run time a field is one load or store of the whole word (memcpy: no alignment assumed)
/// with a byte swap on little-endian machines, not one access per byte: every byte store through
/// a std::byte pointer may alias anything, so the compiler must assume each one could change the
/// operation that is writing the header, and reload its fields after it. Constant evaluation keeps
/// the per-byte definition (memcpy is not constexpr).

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>

#include "statemachines/contract.h"

namespace pollstack::wire {

namespace internal {
template <class Word>
constexpr Word to_big_endian(Word v) {
  if constexpr (std::endian::native == std::endian::big) {
    return v;
  } else if constexpr (sizeof(Word) == 2) {
    return __builtin_bswap16(v);
  } else {
    return __builtin_bswap32(v);
  }
}
}  // namespace internal

constexpr std::uint16_t read_u16(std::span<const std::byte> b, std::size_t at) {
  if (std::is_constant_evaluated()) {
    return static_cast<std::uint16_t>((static_cast<unsigned>(b[at]) << 8) | static_cast<unsigned>(b[at + 1]));
  }
  expect(at + 2 <= b.size(), "read_u16 past the end");
  std::uint16_t v;
  std::memcpy(&v, b.data() + at, sizeof v);
  return internal::to_big_endian(v);
}

constexpr std::uint32_t read_u32(std::span<const std::byte> b, std::size_t at) {
  if (std::is_constant_evaluated()) {
    return (static_cast<std::uint32_t>(read_u16(b, at)) << 16) | read_u16(b, at + 2);
  }
  expect(at + 4 <= b.size(), "read_u32 past the end");
  std::uint32_t v;
  std::memcpy(&v, b.data() + at, sizeof v);
  return internal::to_big_endian(v);
}

constexpr void write_u16(std::span<std::byte> b, std::size_t at, std::uint16_t v) {
  if (std::is_constant_evaluated()) {
    b[at] = static_cast<std::byte>(v >> 8);
    b[at + 1] = static_cast<std::byte>(v & 0xff);
    return;
  }
  expect(at + 2 <= b.size(), "write_u16 past the end");
  const std::uint16_t big = internal::to_big_endian(v);
  std::memcpy(b.data() + at, &big, sizeof big);
}

constexpr void write_u32(std::span<std::byte> b, std::size_t at, std::uint32_t v) {
  if (std::is_constant_evaluated()) {
    write_u16(b, at, static_cast<std::uint16_t>(v >> 16));
    write_u16(b, at + 2, static_cast<std::uint16_t>(v & 0xffff));
    return;
  }
  expect(at + 4 <= b.size(), "write_u32 past the end");
  const std::uint32_t big = internal::to_big_endian(v);
  std::memcpy(b.data() + at, &big, sizeof big);
}

/// Copies `from` to the start of `to` (which must be at least as long). Unlike a bare memcpy,
/// defined for empty spans, whose data() may be null.
inline void copy_bytes(std::span<std::byte> to, std::span<const std::byte> from) {
  if (!from.empty()) std::memcpy(to.data(), from.data(), from.size());
}

}  // namespace pollstack::wire
