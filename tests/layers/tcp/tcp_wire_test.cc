// The TCP codec: a SYN laid out as Linux sends it (checksum computed independently, from RFC 1071
// in Python), round trips of every option combination and odd payload lengths, and every
// rejection class, each made from a good segment by changing one thing.
#include "layers/tcp/tcp_wire.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include "layers/ipv4/ipv4_wire.h"
#include "tests/layers/bytes_of.h"

namespace pollstack::wire {
namespace {

using testing::bytes_of;

const Ipv4Address kClient{{10, 0, 0, 2}};
const Ipv4Address kServer{{10, 0, 0, 1}};
const PseudoHeader kPseudo = ipv4_pseudo_header(kClient, kServer, ip_protocol::kTcp);

// 10.0.0.2:43210 -> 10.0.0.1:80, SYN, seq 0x12345678, window 64240; options as Linux orders them:
// MSS 1460, SACK-permitted, timestamps (0x0a0b0c0d, 0), NOP, window scale 7. Checksum 0x112e.
constexpr auto kLinuxSyn = bytes_of(
    0xa8, 0xca, 0x00, 0x50, 0x12, 0x34, 0x56, 0x78, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xfa, 0xf0, 0x11, 0x2e,
    0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x0a, 0x0b, 0x0c, 0x0d, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x03, 0x03, 0x07);

TcpRepr linux_syn_repr() {
  TcpRepr r;
  r.source_port = 43210;
  r.destination_port = 80;
  r.sequence = 0x12345678;
  r.flags = tcp_flag::kSyn;
  r.window = 64240;
  r.options.has_mss = true;
  r.options.mss = 1460;
  r.options.sack_permitted = true;
  r.options.has_timestamps = true;
  r.options.timestamp_value = 0x0a0b0c0d;
  r.options.has_window_scale = true;
  r.options.window_shift = 7;
  return r;
}

void check_same(const TcpRepr& a, const TcpRepr& b) {
  CHECK(a.source_port == b.source_port);
  CHECK(a.destination_port == b.destination_port);
  CHECK(a.sequence == b.sequence);
  CHECK(a.acknowledgement == b.acknowledgement);
  CHECK(a.flags == b.flags);
  CHECK(a.window == b.window);
  CHECK(a.urgent_pointer == b.urgent_pointer);
  const TcpOptions& x = a.options;
  const TcpOptions& y = b.options;
  // An absent option's value fields mean nothing.
  REQUIRE(x.has_mss == y.has_mss);
  if (x.has_mss) CHECK(x.mss == y.mss);
  REQUIRE(x.has_window_scale == y.has_window_scale);
  if (x.has_window_scale) CHECK(x.window_shift == y.window_shift);
  CHECK(x.sack_permitted == y.sack_permitted);
  REQUIRE(x.has_timestamps == y.has_timestamps);
  if (x.has_timestamps) {
    CHECK(x.timestamp_value == y.timestamp_value);
    CHECK(x.timestamp_echo == y.timestamp_echo);
  }
  REQUIRE(x.sack_blocks == y.sack_blocks);
  CHECK(std::equal(x.sack.begin(), x.sack.begin() + x.sack_blocks, y.sack.begin()));
}

std::vector<std::byte> segment(const TcpRepr& repr, std::size_t payload_length, const PseudoHeader& pseudo = kPseudo) {
  const std::size_t header = tcp_header_length(repr.options);
  std::vector<std::byte> s(header + payload_length);
  for (std::size_t i = 0; i < payload_length; ++i) s[header + i] = static_cast<std::byte>(i * 13 + 1);
  CHECK(emit_tcp(repr, pseudo, payload_length, s) == s.size());
  return s;
}

// A good segment to break: ACK, no options, 10 bytes of data.
std::vector<std::byte> good() {
  TcpRepr r;
  r.source_port = 80;
  r.destination_port = 43210;
  r.sequence = 1000;
  r.acknowledgement = 2000;
  r.flags = tcp_flag::kAck | tcp_flag::kPsh;
  r.window = 512;
  return segment(r, 10);
}

// Recomputes the checksum after a test changed the segment on purpose.
void fix_checksum(std::vector<std::byte>& s) {
  write_u16(s, 16, 0);
  write_u16(s, 16, checksum_finish(checksum_accumulate(s, kPseudo.sum_with_length(static_cast<std::uint32_t>(s.size())))));
}

TEST_CASE("a SYN as Linux sends it parses, and emitting its repr gives the same bytes") {
  const auto parsed = parse_tcp(kLinuxSyn, kPseudo);
  REQUIRE(parsed.ok());
  check_same(parsed.repr(), linux_syn_repr());
  CHECK(parsed.repr().options.ignored == 0);
  CHECK(parsed.payload().empty());
  const std::vector<std::byte> emitted = segment(linux_syn_repr(), 0);
  CHECK(std::equal(emitted.begin(), emitted.end(), kLinuxSyn.begin(), kLinuxSyn.end()));
}

TEST_CASE("emit then parse round-trips every option combination, for even and odd payloads") {
  for (unsigned mask = 0; mask < 32; ++mask) {
    TcpRepr r;
    r.source_port = 1;
    r.destination_port = 65535;
    r.sequence = 0xfffffff0;
    r.acknowledgement = 7;
    r.flags = tcp_flag::kAck | (mask & 1 ? tcp_flag::kFin : 0);
    r.window = 0xffff;
    r.options.has_mss = (mask & 2) != 0;
    r.options.mss = 536;
    r.options.sack_permitted = (mask & 4) != 0;
    r.options.has_timestamps = (mask & 8) != 0;
    r.options.timestamp_value = 0xdeadbeef;
    r.options.timestamp_echo = 0x01020304;
    r.options.has_window_scale = (mask & 16) != 0;
    r.options.window_shift = 14;
    // SACK blocks in what room is left: 4, or 3 beside the timestamps (RFC 2018 §3).
    if (!r.options.has_mss && !r.options.sack_permitted && !r.options.has_window_scale) {
      r.options.sack_blocks = r.options.has_timestamps ? 3 : 4;
      for (std::uint8_t i = 0; i < r.options.sack_blocks; ++i) r.options.sack[i] = {100u * i, 100u * i + 50};
    }
    for (std::size_t n : {0u, 1u, 2u, 1459u, 1460u}) {
      CAPTURE(mask);
      CAPTURE(n);
      const std::vector<std::byte> s = segment(r, n);
      CHECK(s.size() - n <= kTcpHeaderBytes + kTcpMaxOptionBytes);
      const auto parsed = parse_tcp(s, kPseudo);
      REQUIRE(parsed.ok());
      check_same(parsed.repr(), r);
      CHECK(parsed.payload().size() == n);
      if (n > 0) CHECK(parsed.payload()[0] == std::byte{1});
    }
  }
}

TEST_CASE("the checksum covers the pseudo-header") {
  const std::vector<std::byte> s = good();
  CHECK(parse_tcp(s, ipv4_pseudo_header(kClient, {{10, 0, 0, 9}}, ip_protocol::kTcp)).error() == TcpError::kBadChecksum);
  CHECK(parse_tcp(s, ipv4_pseudo_header(kClient, kServer, ip_protocol::kUdp)).error() == TcpError::kBadChecksum);
  std::vector<std::byte> flipped = s;
  flipped.back() ^= std::byte{0x40};
  CHECK(parse_tcp(flipped, kPseudo).error() == TcpError::kBadChecksum);
}

TEST_CASE("every rejection class, each from a good segment by changing one thing") {
  REQUIRE(parse_tcp(good(), kPseudo).ok());
  const auto error_of = [](std::vector<std::byte> s) { return parse_tcp(s, kPseudo).error(); };

  std::vector<std::byte> s = good();
  CHECK(parse_tcp(std::span<const std::byte>(s).first(19), kPseudo).error() == TcpError::kTruncated);
  // Data offset 4 words; 15 words in a 30-byte segment.
  s[12] = std::byte{0x40};
  fix_checksum(s);
  CHECK(error_of(s) == TcpError::kBadDataOffset);
  s = good();
  s[12] = std::byte{0xf0};
  fix_checksum(s);
  CHECK(error_of(s) == TcpError::kBadDataOffset);
  // Flags that cannot go together, and a segment with no control at all.
  for (const auto& [flags, error] : {std::pair{tcp_flag::kSyn | tcp_flag::kFin, TcpError::kSynWithFin},
                                     std::pair{tcp_flag::kSyn | tcp_flag::kRst | tcp_flag::kAck, TcpError::kSynWithRst},
                                     std::pair{tcp_flag::kFin | tcp_flag::kPsh, TcpError::kNoControl},
                                     std::pair{0, TcpError::kNoControl}}) {
    CAPTURE(flags);
    s = good();
    s[13] = static_cast<std::byte>(flags);
    fix_checksum(s);
    CHECK(error_of(s) == error);
  }
  // A RST alone (no ACK) is a valid answer to a segment that carried no ACK (RFC 9293 §3.10.7.1).
  s = good();
  s[13] = std::byte{tcp_flag::kRst};
  fix_checksum(s);
  CHECK(parse_tcp(s, kPseudo).ok());
}

// A segment whose header carries `options` (a multiple of 4 bytes) and 3 bytes of data.
std::vector<std::byte> with_options(std::initializer_list<std::uint8_t> options) {
  std::vector<std::byte> s(kTcpHeaderBytes + options.size() + 3);
  TcpRepr r;
  r.flags = tcp_flag::kAck;
  emit_tcp(r, kPseudo, 0, s);
  s[12] = static_cast<std::byte>(((kTcpHeaderBytes + options.size()) / 4) << 4);
  std::size_t at = kTcpHeaderBytes;
  for (std::uint8_t b : options) s[at++] = static_cast<std::byte>(b);
  fix_checksum(s);
  return s;
}

TEST_CASE("option lengths: 0 or 1, past the header, or a kind without its length, are rejected") {
  CHECK(parse_tcp(with_options({99, 0, 1, 1}), kPseudo).error() == TcpError::kBadOptionLength);
  CHECK(parse_tcp(with_options({99, 1, 1, 1}), kPseudo).error() == TcpError::kBadOptionLength);
  CHECK(parse_tcp(with_options({1, 1, 99, 3}), kPseudo).error() == TcpError::kBadOptionLength);  // needs 3, has 2
  CHECK(parse_tcp(with_options({1, 1, 1, 2}), kPseudo).error() == TcpError::kBadOptionLength);   // MSS, no length
}

TEST_CASE("unknown options are skipped by length; known ones of the wrong length ignored; EOL ends the list") {
  // An unknown option (kind 99, 6 bytes), then MSS: the MSS is still read.
  auto parsed = parse_tcp(with_options({99, 6, 0xaa, 0xbb, 0xcc, 0xdd, 2, 4, 0x02, 0x18, 0, 0}), kPseudo);
  REQUIRE(parsed.ok());
  CHECK(parsed.repr().options.has_mss);
  CHECK(parsed.repr().options.mss == 536);
  CHECK(parsed.repr().options.ignored == 1);
  CHECK(parsed.payload().size() == 3);  // the payload starts after the whole header
  // MSS of length 3 and timestamps of length 6: ignored (Linux), the rest still read.
  parsed = parse_tcp(with_options({2, 3, 0x05, 8, 6, 1, 2, 3, 4, 1, 3, 3, 9, 0, 0, 0}), kPseudo);
  REQUIRE(parsed.ok());
  CHECK_FALSE(parsed.repr().options.has_mss);
  CHECK_FALSE(parsed.repr().options.has_timestamps);
  CHECK(parsed.repr().options.ignored == 2);
  CHECK(parsed.repr().options.has_window_scale);
  CHECK(parsed.repr().options.window_shift == 9);
  // A window shift above 14 is clamped to 14 (RFC 7323 §2.3).
  parsed = parse_tcp(with_options({1, 3, 3, 15}), kPseudo);
  REQUIRE(parsed.ok());
  CHECK(parsed.repr().options.window_shift == 14);
  // After EOL nothing is read, not even what would be malformed.
  parsed = parse_tcp(with_options({0, 99, 0, 0}), kPseudo);
  REQUIRE(parsed.ok());
  CHECK(parsed.repr().options.ignored == 0);
  // SACK with a partial block, or five blocks: ignored.
  parsed = parse_tcp(with_options({1, 1, 5, 6, 0, 0, 0, 1}), kPseudo);
  REQUIRE(parsed.ok());
  CHECK(parsed.repr().options.sack_blocks == 0);
  CHECK(parsed.repr().options.ignored == 1);
}

}  // namespace
}  // namespace pollstack::wire
