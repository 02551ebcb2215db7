#include "layers/icmp/icmp_wire.h"

#include <doctest/doctest.h>

#include <vector>

namespace pollstack::wire {
namespace {

// An independent checksum: 64-bit sum of big-endian words, zero-padded.
std::uint16_t naive_checksum(std::span<const std::byte> data) {
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < data.size(); i += 2) {
    sum += (static_cast<std::uint64_t>(data[i]) << 8) | (i + 1 < data.size() ? static_cast<std::uint64_t>(data[i + 1]) : 0);
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum & 0xffff);
}

std::vector<std::byte> echo_request(std::size_t payload) {
  std::vector<std::byte> m(kIcmpHeaderBytes + payload);
  for (std::size_t i = 0; i < payload; ++i) m[kIcmpHeaderBytes + i] = static_cast<std::byte>('a' + i % 23);
  emit_icmp(IcmpRepr{icmp_type::kEchoRequest, 0, 0x1234, 7}, payload, m);
  return m;
}

TEST_CASE("echo request round-trips; the checksum matches an independent computation") {
  for (std::size_t n : {0u, 1u, 32u, 56u, 1472u}) {
    CAPTURE(n);
    std::vector<std::byte> m = echo_request(n);
    const auto parsed = parse_icmp(m);
    REQUIRE(parsed.ok());
    CHECK(parsed.repr().type == icmp_type::kEchoRequest);
    CHECK(parsed.repr().identifier == 0x1234);
    CHECK(parsed.repr().sequence == 7);
    CHECK(parsed.payload().size() == n);
    const std::uint16_t stored = read_u16(m, 2);
    m[2] = m[3] = std::byte{0};
    CHECK(stored == naive_checksum(m));
  }
}

TEST_CASE("each malformed class is rejected with its reason") {
  std::vector<std::byte> m = echo_request(11);  // 19 bytes: an odd-length message
  CHECK(parse_icmp(std::span(m).first(7)).error() == IcmpError::kTruncated);
  m[kIcmpHeaderBytes + 10] ^= std::byte{1};  // the unpaired last byte is covered too
  CHECK(parse_icmp(m).error() == IcmpError::kBadChecksum);
}

}  // namespace
}  // namespace pollstack::wire
