#pragma once
/// Sequence number arithmetic (RFC 9293 §3.4): 32-bit numbers compared modulo 2^32, valid while
/// the two numbers are less than 2^31 apart, which a window never exceeds.

#include <cstdint>

namespace pollstack::net::seq {

constexpr bool lt(std::uint32_t a, std::uint32_t b) noexcept { return static_cast<std::int32_t>(a - b) < 0; }
constexpr bool le(std::uint32_t a, std::uint32_t b) noexcept { return static_cast<std::int32_t>(a - b) <= 0; }
constexpr bool gt(std::uint32_t a, std::uint32_t b) noexcept { return lt(b, a); }
constexpr bool ge(std::uint32_t a, std::uint32_t b) noexcept { return le(b, a); }
/// a <= x < b, modulo 2^32.
constexpr bool in_window(std::uint32_t x, std::uint32_t a, std::uint32_t b) noexcept { return le(a, x) && lt(x, b); }

}  // namespace pollstack::net::seq
