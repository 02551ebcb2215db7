#include "layers/common/checksum.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include "tests/layers/bytes_of.h"

namespace pollstack::wire {
namespace {

using testing::bytes_of;

// The obvious algorithm, written independently: 64-bit sum of big-endian words, zero-padded.
std::uint16_t naive_checksum(const std::vector<std::byte>& data) {
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < data.size(); i += 2) {
    const std::uint64_t hi = static_cast<std::uint64_t>(data[i]);
    const std::uint64_t lo = i + 1 < data.size() ? static_cast<std::uint64_t>(data[i + 1]) : 0;
    sum += (hi << 8) | lo;
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum & 0xffff);
}

// Deterministic pseudo-random bytes (a linear congruential generator).
std::vector<std::byte> random_bytes(std::size_t n, std::uint32_t seed) {
  std::vector<std::byte> data(n);
  for (std::byte& b : data) {
    seed = seed * 1103515245u + 12345u;
    b = static_cast<std::byte>(seed >> 24);
  }
  return data;
}

TEST_CASE("RFC 1071's worked example") {
  constexpr auto data = bytes_of(0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7);
  static_assert(checksum_finish(checksum_accumulate(data)) == 0x220d);  // sum 0xddf2, complemented
  CHECK(checksum_finish(checksum_accumulate(data)) == 0x220d);
}

TEST_CASE("agrees with the naive algorithm for every length 0..300, odd ones included") {
  std::vector<std::byte> data;
  int mismatches = 0;
  for (int length = 0; length <= 300; ++length) {
    CAPTURE(length);
    mismatches += checksum_finish(checksum_accumulate(data)) != naive_checksum(data);
    data.push_back(static_cast<std::byte>((length * 73 + 41) & 0xff));
  }
  CHECK(mismatches == 0);
}

TEST_CASE("the fast path agrees with the definition at every start alignment and length") {
  // The layers sum eight bytes per load in machine order; frames start at any offset in a buffer.
  const std::vector<std::byte> data = random_bytes(1600, 12345);
  int mismatches = 0;
  for (std::size_t start = 0; start < 16; ++start) {
    for (std::size_t length : {0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 20, 24, 28, 31, 32, 33, 47, 48, 64, 65, 1479, 1480, 1500}) {
      const std::span<const std::byte> piece = std::span(data).subspan(start, length);
      const std::vector<std::byte> copy(piece.begin(), piece.end());
      mismatches += checksum_accumulate(piece) != checksum_detail::sum_big_endian_words(piece);
      mismatches += checksum_finish(checksum_accumulate(piece)) != naive_checksum(copy);
      // with a running sum carried in, as the pseudo-header is
      mismatches += checksum_accumulate(piece, 0xfedc) !=
                    checksum_detail::fold(0xfedcu + checksum_detail::sum_big_endian_words(piece));
    }
  }
  CHECK(mismatches == 0);
}

TEST_CASE("checksum_copy copies and sums like a copy then checksum_accumulate, at every alignment and length") {
  const std::vector<std::byte> data = random_bytes(1600, 777);
  int mismatches = 0;
  for (std::size_t start = 0; start < 16; ++start) {
    for (std::size_t length = 0; length <= 1500; length += (length < 80 ? 1 : 71)) {
      const std::span<const std::byte> piece = std::span(data).subspan(start, length);
      std::vector<std::byte> out(length + 16, std::byte{0x5a});
      const std::uint32_t sum = checksum_copy(std::span(out).subspan(start % 8), piece, 0x1234);
      mismatches += sum != checksum_accumulate(piece, 0x1234);
      mismatches += !std::equal(piece.begin(), piece.end(), out.begin() + static_cast<std::ptrdiff_t>(start % 8));
      // nothing written past the copy
      mismatches += out[start % 8 + length] != std::byte{0x5a};
    }
  }
  CHECK(mismatches == 0);
}

TEST_CASE("all ones never overflows, and a packet with its own checksum sums to valid") {
  std::vector<std::byte> ones(65535, std::byte{0xff});
  CHECK(checksum_finish(checksum_accumulate(ones)) == naive_checksum(ones));
  std::vector<std::byte> packet = {std::byte{0x12}, std::byte{0x34}, std::byte{0x56}, std::byte{0x78},
                                   std::byte{0}, std::byte{0}};
  const std::uint16_t c = checksum_finish(checksum_accumulate(packet));
  packet[4] = static_cast<std::byte>(c >> 8);
  packet[5] = static_cast<std::byte>(c & 0xff);
  CHECK(checksum_valid(checksum_accumulate(packet)));
  packet[0] ^= std::byte{1};
  CHECK_FALSE(checksum_valid(checksum_accumulate(packet)));
}

TEST_CASE("pieces compose: summing in parts equals summing the whole (even-length parts)") {
  constexpr auto a = bytes_of(0x45, 0x00, 0x00, 0x73);
  constexpr auto b = bytes_of(0x00, 0x00, 0x40, 0x00, 0x40);
  std::vector<std::byte> whole(a.begin(), a.end());
  whole.insert(whole.end(), b.begin(), b.end());
  CHECK(checksum_finish(checksum_accumulate(b, checksum_accumulate(a))) == naive_checksum(whole));
}

}  // namespace
}  // namespace pollstack::wire
