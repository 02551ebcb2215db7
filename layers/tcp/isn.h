#pragma once
/// Initial sequence numbers (RFC 6528): ISN = M + F(local address, local port, remote address,
/// remote port, secret), where M is a clock ticking every 4 µs and F a keyed hash. F here is
/// SipHash-2-4 (Aumasson and Bernstein, 2012), as Linux's secure_tcp_seq uses. The secret is chosen
/// once per boot by the embedder (pollstackd reads it from getrandom; firmware from its RNG); with
/// the secret unknown, an off-path attacker cannot predict a connection's ISN, and a new
/// incarnation of a 4-tuple starts above the old one's numbers (the clock moves on).

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "layers/ipv4/ipv4_wire.h"
#include "statemachines/clock.h"

namespace pollstack::net {

/// SipHash-2-4 of `message` under the 128-bit key (k0, k1).
constexpr std::uint64_t siphash24(std::uint64_t k0, std::uint64_t k1, std::span<const std::uint8_t> message) noexcept {
  std::uint64_t v0 = k0 ^ 0x736f6d6570736575ULL;
  std::uint64_t v1 = k1 ^ 0x646f72616e646f6dULL;
  std::uint64_t v2 = k0 ^ 0x6c7967656e657261ULL;
  std::uint64_t v3 = k1 ^ 0x7465646279746573ULL;
  const auto rotl = [](std::uint64_t x, int b) { return (x << b) | (x >> (64 - b)); };
  const auto round = [&] {
    v0 += v1;
    v1 = rotl(v1, 13);
    v1 ^= v0;
    v0 = rotl(v0, 32);
    v2 += v3;
    v3 = rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = rotl(v1, 17);
    v1 ^= v2;
    v2 = rotl(v2, 32);
  };
  const auto compress = [&](std::uint64_t m) {
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  };
  const std::size_t whole = message.size() / 8 * 8;
  for (std::size_t i = 0; i < whole; i += 8) {
    std::uint64_t m = 0;
    for (std::size_t j = 0; j < 8; ++j) m |= std::uint64_t{message[i + j]} << (8 * j);  // little endian
    compress(m);
  }
  std::uint64_t last = std::uint64_t{message.size() & 0xff} << 56;
  for (std::size_t j = 0; j < message.size() - whole; ++j) last |= std::uint64_t{message[whole + j]} << (8 * j);
  compress(last);
  v2 ^= 0xff;
  round();
  round();
  round();
  round();
  return v0 ^ v1 ^ v2 ^ v3;
}

/// The per-boot secret and the ISN function over it.
class IsnGenerator {
 public:
  void set_secret(std::uint64_t k0, std::uint64_t k1) noexcept {
    k0_ = k0;
    k1_ = k1;
  }

  std::uint32_t isn(const wire::Ipv4Address& local, std::uint16_t local_port, const wire::Ipv4Address& remote,
                    std::uint16_t remote_port, Instant now) const noexcept {
    std::array<std::uint8_t, 12> tuple{};
    for (std::size_t i = 0; i < 4; ++i) {
      tuple[i] = local.octets[i];
      tuple[4 + i] = remote.octets[i];
    }
    tuple[8] = static_cast<std::uint8_t>(local_port >> 8);
    tuple[9] = static_cast<std::uint8_t>(local_port);
    tuple[10] = static_cast<std::uint8_t>(remote_port >> 8);
    tuple[11] = static_cast<std::uint8_t>(remote_port);
    const auto m = static_cast<std::uint32_t>(now.time_since_epoch().count() / 4);  // RFC 6528: a 4 µs tick
    return m + static_cast<std::uint32_t>(siphash24(k0_, k1_, tuple));
  }

  /// The offset of a connection's timestamp clock (RFC 7323 §5.4, §7.1): a keyed hash of the two
  /// addresses, so that timestamps reveal no uptime and stay monotonic between the same two hosts
  /// (Linux's secure_tcp_ts_off). A key apart from the ISN's: one must not tell of the other.
  std::uint32_t timestamp_offset(const wire::Ipv4Address& local, const wire::Ipv4Address& remote) const noexcept {
    std::array<std::uint8_t, 8> pair{};
    for (std::size_t i = 0; i < 4; ++i) {
      pair[i] = local.octets[i];
      pair[4 + i] = remote.octets[i];
    }
    return static_cast<std::uint32_t>(siphash24(k0_ ^ 0x74696d657374616dULL, k1_, pair));
  }

 private:
  // Until the embedder sets a secret: a fixed one (documented; tests rely on it being fixed).
  std::uint64_t k0_ = 0x0706050403020100ULL;
  std::uint64_t k1_ = 0x0f0e0d0c0b0a0908ULL;
};

}  // namespace pollstack::net
