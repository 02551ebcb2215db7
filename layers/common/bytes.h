#pragma once
/// Big-endian field access at fixed offsets, for the wire views. Callers check lengths first
/// (each codec's parse() does, before reading any field).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace pollstack::wire {

constexpr std::uint16_t read_u16(std::span<const std::byte> b, std::size_t at) {
  return static_cast<std::uint16_t>((static_cast<unsigned>(b[at]) << 8) | static_cast<unsigned>(b[at + 1]));
}

constexpr std::uint32_t read_u32(std::span<const std::byte> b, std::size_t at) {
  return (static_cast<std::uint32_t>(read_u16(b, at)) << 16) | read_u16(b, at + 2);
}

constexpr void write_u16(std::span<std::byte> b, std::size_t at, std::uint16_t v) {
  b[at] = static_cast<std::byte>(v >> 8);
  b[at + 1] = static_cast<std::byte>(v & 0xff);
}

constexpr void write_u32(std::span<std::byte> b, std::size_t at, std::uint32_t v) {
  write_u16(b, at, static_cast<std::uint16_t>(v >> 16));
  write_u16(b, at + 2, static_cast<std::uint16_t>(v & 0xffff));
}

/// Copies `from` to the start of `to` (which must be at least as long). Unlike a bare memcpy,
/// defined for empty spans, whose data() may be null.
inline void copy_bytes(std::span<std::byte> to, std::span<const std::byte> from) {
  if (!from.empty()) std::memcpy(to.data(), from.data(), from.size());
}

}  // namespace pollstack::wire
