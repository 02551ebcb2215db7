#include "layers/ipv4/ipv4_wire.h"

#include <doctest/doctest.h>

#include <array>
#include <vector>

#include "tests/layers/bytes_of.h"

namespace pollstack::wire {
namespace {

using testing::bytes_of;

// A commonly cited IPv4 header (192.168.0.1 -> 192.168.0.199, UDP, total length 0x73) whose
// checksum field is 0xb861, padded to its total length.
std::vector<std::byte> reference_packet() {
  constexpr auto header = bytes_of(0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0,
                                   0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7);
  std::vector<std::byte> packet(header.begin(), header.end());
  packet.resize(0x73, std::byte{0xab});
  return packet;
}

TEST_CASE("parses a reference header with a known checksum") {
  const std::vector<std::byte> packet = reference_packet();
  const auto parsed = parse_ipv4(packet);
  REQUIRE(parsed.ok());
  CHECK(parsed.repr().source == Ipv4Address{{192, 168, 0, 1}});
  CHECK(parsed.repr().destination == Ipv4Address{{192, 168, 0, 199}});
  CHECK(parsed.repr().protocol == ip_protocol::kUdp);
  CHECK(parsed.repr().ttl == 64);
  CHECK(parsed.payload().size() == 0x73 - 20);
}

TEST_CASE("emit writes the same checksum as the reference") {
  std::array<std::byte, 20> out{};
  Ipv4Repr repr;
  repr.source = {{192, 168, 0, 1}};
  repr.destination = {{192, 168, 0, 199}};
  repr.protocol = ip_protocol::kUdp;
  repr.ttl = 64;
  repr.payload_length = 0x73 - 20;
  CHECK(emit_ipv4(repr, out) == 20);
  const std::vector<std::byte> reference = reference_packet();
  CHECK(std::equal(out.begin(), out.end(), reference.begin()));
}

// emit_ipv4 sums the fields' values rather than the written bytes: every field must be in it.
TEST_CASE("emitted headers verify, whatever the field values") {
  std::uint32_t seed = 12345;
  auto next = [&seed] { return seed = seed * 1103515245u + 12345u; };
  for (int i = 0; i < 1000; ++i) {
    std::array<std::byte, 20> out{};
    Ipv4Repr repr;
    repr.source = Ipv4Address::from_u32(next());
    repr.destination = Ipv4Address::from_u32(next());
    repr.protocol = static_cast<std::uint8_t>(next() >> 8);
    repr.ttl = static_cast<std::uint8_t>(next() >> 8);
    repr.identification = static_cast<std::uint16_t>(next() >> 8);
    repr.payload_length = static_cast<std::uint16_t>((next() >> 8) % (0xffff - 20));
    emit_ipv4(repr, out);
    CAPTURE(i);
    REQUIRE(checksum_valid(checksum_accumulate(out)));
    CHECK(read_u16(out, 4) == repr.identification);
    CHECK(read_u16(out, 2) == repr.payload_length + 20);
    CHECK(static_cast<std::uint8_t>(out[8]) == repr.ttl);
    CHECK(static_cast<std::uint8_t>(out[9]) == repr.protocol);
    CHECK(read_u32(out, 12) == repr.source.to_u32());
    CHECK(read_u32(out, 16) == repr.destination.to_u32());
  }
}

TEST_CASE("Ethernet padding after a short packet is not payload") {
  std::vector<std::byte> packet = reference_packet();
  packet.resize(packet.size() + 10, std::byte{0});
  const auto parsed = parse_ipv4(packet);
  REQUIRE(parsed.ok());
  CHECK(parsed.payload().size() == 0x73 - 20);
}

TEST_CASE("each malformed class is rejected with its reason") {
  const std::vector<std::byte> good = reference_packet();
  auto with = [&](auto change) {
    std::vector<std::byte> p = good;
    change(p);
    return parse_ipv4(p);
  };
  CHECK(parse_ipv4(std::span(good).first(19)).error() == Ipv4Error::kTruncated);
  CHECK(with([](auto& p) { p[0] = std::byte{0x65}; }).error() == Ipv4Error::kBadVersion);
  CHECK(with([](auto& p) { p[0] = std::byte{0x44}; }).error() == Ipv4Error::kBadHeaderLength);
  CHECK(with([](auto& p) { p[0] = std::byte{0x46}; }).error() == Ipv4Error::kOptions);
  CHECK(with([](auto& p) { p[2] = std::byte{0}; p[3] = std::byte{19}; }).error() == Ipv4Error::kTotalLengthTooSmall);
  CHECK(with([](auto& p) { p[2] = std::byte{0}; p[3] = std::byte{0x74}; }).error() == Ipv4Error::kTotalLengthTooLarge);
  CHECK(with([](auto& p) { p[11] ^= std::byte{1}; }).error() == Ipv4Error::kBadChecksum);
  CHECK(with([](auto& p) { p[16] ^= std::byte{0x80}; }).error() == Ipv4Error::kBadChecksum);
}

TEST_CASE("fragments are rejected: more-fragments set, or a nonzero offset") {
  for (std::uint16_t flags_offset : {std::uint16_t{0x2000}, std::uint16_t{0x0001}, std::uint16_t{0x20b9}}) {
    std::array<std::byte, 40> packet{};
    Ipv4Repr repr;
    repr.payload_length = 20;
    emit_ipv4(repr, packet);
    write_u16(packet, 6, flags_offset);
    write_u16(packet, 10, 0);
    write_u16(packet, 10, checksum_finish(checksum_accumulate(std::span(packet).first(20))));
    CHECK(parse_ipv4(packet).error() == Ipv4Error::kFragment);
  }
}

}  // namespace
}  // namespace pollstack::wire
