#include "tools/drivers/tap_offload.h"

#include <doctest/doctest.h>

#include <array>
#include <cstring>
#include <random>
#include <vector>

#include "layers/common/bytes.h"
#include "layers/common/checksum.h"
#include "layers/ipv4/ipv4_wire.h"
#include "layers/tcp/tcp_wire.h"

namespace pollstack::drivers {
namespace {

using wire::read_u16;
using wire::write_u16;
using wire::write_u32;

constexpr std::size_t kBuffer = 2048;  // the channel's buffer: what max_frame is in the driver
constexpr std::size_t kIp = 14;
constexpr std::size_t kTcp = 34;
constexpr std::size_t kTcpHeader = 32;  // with a timestamps option, as Linux sends
constexpr std::size_t kHeaders = kTcp + kTcpHeader;
constexpr std::uint32_t kFirstSequence = 0xfffff000;  // the sequence numbers wrap inside the frame

// What the kernel hands a TAP reader for `payload` bytes of one TCP/IPv4 stream: the virtio-net
// header (GSO when `segment_size` is not 0), Ethernet, IPv4 (identification 0x1234, DF), TCP with
// NOP NOP TS and `flags`, and a checksum field holding only the pseudo-header's sum, as
// CHECKSUM_PARTIAL leaves it.
std::vector<std::byte> kernel_frame(std::size_t payload, std::uint16_t segment_size, std::uint8_t flags) {
  std::vector<std::byte> bytes(sizeof(VnetHeader) + kHeaders + payload);
  VnetHeader header;
  header.flags = VnetHeader::kNeedsChecksum;
  header.gso_type = segment_size == 0 ? VnetHeader::kGsoNone : (VnetHeader::kGsoTcpV4 | VnetHeader::kGsoEcn);
  header.header_length = kHeaders;
  header.segment_size = segment_size;
  header.checksum_start = kTcp;
  header.checksum_offset = 16;
  std::memcpy(bytes.data(), &header, sizeof header);
  const std::span<std::byte> f = std::span(bytes).subspan(sizeof(VnetHeader));
  for (std::size_t i = 0; i < 12; ++i) f[i] = std::byte(0x02 + i);
  write_u16(f, 12, 0x0800);
  f[kIp] = std::byte{0x45};
  write_u16(f, kIp + 2, static_cast<std::uint16_t>(f.size() - kIp));
  write_u16(f, kIp + 4, 0x1234);
  write_u16(f, kIp + 6, 0x4000);
  f[kIp + 8] = std::byte{64};
  f[kIp + 9] = std::byte{6};
  write_u32(f, kIp + 12, 0x0a000001);
  write_u32(f, kIp + 16, 0x0a000002);
  write_u16(f, kIp + 10, wire::checksum_finish(wire::checksum_accumulate(f.subspan(kIp, 20))));
  write_u16(f, kTcp, 40000);
  write_u16(f, kTcp + 2, 5201);
  write_u32(f, kTcp + 4, kFirstSequence);
  write_u32(f, kTcp + 8, 77);
  f[kTcp + 12] = std::byte{(kTcpHeader / 4) << 4};
  f[kTcp + 13] = std::byte{flags};
  write_u16(f, kTcp + 14, 512);
  f[kTcp + 20] = f[kTcp + 21] = std::byte{1};
  f[kTcp + 22] = std::byte{8};
  f[kTcp + 23] = std::byte{10};
  write_u32(f, kTcp + 24, 1000);
  write_u32(f, kTcp + 28, 2000);
  for (std::size_t i = 0; i < payload; ++i) f[kHeaders + i] = std::byte(i * 7 + i / 251);
  // The pseudo-header's sum (not complemented), for the device to finish.
  const std::uint32_t pseudo = wire::ipv4_pseudo_header(wire::Ipv4Address::from_u32(0x0a000001),
                                                        wire::Ipv4Address::from_u32(0x0a000002), 6)
                                   .sum_with_length(static_cast<std::uint32_t>(f.size() - kTcp));
  write_u16(f, kTcp + 16, static_cast<std::uint16_t>(wire::checksum_accumulate_word(0, pseudo)));
  return bytes;
}

struct Cut {
  std::vector<wire::Ipv4Repr> ip;
  std::vector<wire::TcpRepr> tcp;
  std::vector<std::byte> payload;  // every segment's, in order
  std::vector<std::size_t> lengths;
};

// Hands out every wire frame and reads each back through the stack's parsers, which check the
// IPv4 header checksum and the TCP checksum.
Cut cut(OffloadedFrame& frame) {
  Cut out;
  std::array<std::byte, kBuffer> buffer;
  while (!frame.done()) {
    buffer.fill(std::byte{0xee});
    const std::size_t n = frame.next(buffer);
    REQUIRE(n <= kBuffer);
    out.lengths.push_back(n);
    const std::span<const std::byte> f = std::span(buffer).first(n);
    REQUIRE(read_u16(f, 12) == 0x0800);
    const auto ip = wire::parse_ipv4(f.subspan(kIp));
    REQUIRE(ip.ok());
    REQUIRE(ip.payload().size() == n - kTcp);
    const auto tcp = wire::parse_tcp(ip.payload(), wire::ipv4_pseudo_header(ip.repr().source, ip.repr().destination, 6));
    REQUIRE(tcp.ok());
    out.ip.push_back(ip.repr());
    out.tcp.push_back(tcp.repr());
    out.payload.insert(out.payload.end(), tcp.payload().begin(), tcp.payload().end());
  }
  return out;
}

TEST_CASE("a GSO frame becomes the wire frames Linux's own segmentation would make") {
  constexpr std::size_t kPayload = 45 * 1448 - 100;  // the last segment is short
  std::vector<std::byte> bytes =
      kernel_frame(kPayload, 1448, wire::tcp_flag::kAck | wire::tcp_flag::kPsh | wire::tcp_flag::kFin | wire::tcp_flag::kCwr);
  const std::vector<std::byte> payload(bytes.begin() + sizeof(VnetHeader) + kHeaders, bytes.end());
  OffloadedFrame frame;
  REQUIRE(frame.start(bytes, kBuffer) == OffloadError::kNone);
  CHECK(frame.gso());
  CHECK(frame.count() == 45);
  const Cut c = cut(frame);
  REQUIRE(c.tcp.size() == 45);
  CHECK(c.payload == payload);  // every byte, in order, once
  for (std::size_t i = 0; i < 45; ++i) {
    CAPTURE(i);
    CHECK(c.lengths[i] == kHeaders + (i < 44 ? 1448 : 1448 - 100));
    CHECK(c.ip[i].identification == 0x1234 + i);
    CHECK(c.ip[i].ttl == 64);
    CHECK(c.tcp[i].sequence == static_cast<std::uint32_t>(kFirstSequence + i * 1448));
    CHECK(c.tcp[i].acknowledgement == 77);
    CHECK(c.tcp[i].window == 512);
    CHECK(c.tcp[i].options.has_timestamps);
    CHECK(c.tcp[i].has(wire::tcp_flag::kAck));
    CHECK(c.tcp[i].has(wire::tcp_flag::kCwr) == (i == 0));
    CHECK(c.tcp[i].has(wire::tcp_flag::kPsh) == (i == 44));
    CHECK(c.tcp[i].has(wire::tcp_flag::kFin) == (i == 44));
  }
}

TEST_CASE("a GSO frame of exactly whole segments, and of one") {
  for (const std::size_t payload : {std::size_t{3 * 1000}, std::size_t{1}, std::size_t{999}}) {
    CAPTURE(payload);
    std::vector<std::byte> bytes = kernel_frame(payload, 1000, wire::tcp_flag::kAck);
    OffloadedFrame frame;
    REQUIRE(frame.start(bytes, kBuffer) == OffloadError::kNone);
    const Cut c = cut(frame);
    CHECK(c.tcp.size() == (payload + 999) / 1000);
    CHECK(c.payload.size() == payload);
  }
}

TEST_CASE("a frame that is not GSO: its partial checksum completed, the frame passed on whole") {
  for (const std::size_t payload : {std::size_t{0}, std::size_t{1}, std::size_t{1448}}) {
    CAPTURE(payload);
    std::vector<std::byte> bytes = kernel_frame(payload, 0, wire::tcp_flag::kAck);
    OffloadedFrame frame;
    REQUIRE(frame.start(bytes, kBuffer) == OffloadError::kNone);
    CHECK_FALSE(frame.gso());
    CHECK(frame.count() == 1);
    const Cut c = cut(frame);  // parse_tcp verifies the completed checksum
    CHECK(c.lengths.at(0) == bytes.size() - sizeof(VnetHeader));
  }
  // Without kNeedsChecksum the frame is passed on untouched (here: still the pseudo sum: bad).
  std::vector<std::byte> bytes = kernel_frame(100, 0, wire::tcp_flag::kAck);
  bytes[0] = std::byte{0};
  const std::vector<std::byte> before(bytes.begin() + sizeof(VnetHeader), bytes.end());
  OffloadedFrame frame;
  REQUIRE(frame.start(bytes, kBuffer) == OffloadError::kNone);
  std::array<std::byte, kBuffer> out;
  REQUIRE(frame.next(out) == before.size());
  CHECK(std::memcmp(out.data(), before.data(), before.size()) == 0);
  CHECK(frame.done());
}

TEST_CASE("what cannot be cut exactly is refused with its reason") {
  const auto refused = [](std::vector<std::byte> bytes, std::size_t max_frame = kBuffer) {
    OffloadedFrame frame;
    const OffloadError error = frame.start(bytes, max_frame);
    if (error != OffloadError::kNone) CHECK(frame.done());  // nothing is handed out
    return error;
  };
  const auto gso = [] { return kernel_frame(5000, 1448, wire::tcp_flag::kAck); };
  const auto set_header = [](std::vector<std::byte>& bytes, auto&& change) {
    VnetHeader h;
    std::memcpy(&h, bytes.data(), sizeof h);
    change(h);
    std::memcpy(bytes.data(), &h, sizeof h);
  };
  const auto frame_at = [](std::vector<std::byte>& bytes) { return std::span(bytes).subspan(sizeof(VnetHeader)); };

  CHECK(refused(std::vector<std::byte>(sizeof(VnetHeader) + 13)) == OffloadError::kTruncated);
  CHECK(refused({}) == OffloadError::kTruncated);
  auto udp = gso();
  set_header(udp, [](VnetHeader& h) { h.gso_type = 3; });  // VIRTIO_NET_HDR_GSO_UDP
  CHECK(refused(udp) == OffloadError::kUnsupportedGso);
  auto v6 = gso();
  set_header(v6, [](VnetHeader& h) { h.gso_type = 4; });  // VIRTIO_NET_HDR_GSO_TCPV6
  CHECK(refused(v6) == OffloadError::kUnsupportedGso);

  auto not_ipv4 = gso();
  write_u16(frame_at(not_ipv4), 12, 0x86dd);
  CHECK(refused(not_ipv4) == OffloadError::kMalformedGso);
  auto udp_inside = gso();
  frame_at(udp_inside)[kIp + 9] = std::byte{17};
  CHECK(refused(udp_inside) == OffloadError::kMalformedGso);
  auto fragment = gso();
  write_u16(frame_at(fragment), kIp + 6, 0x2000);
  CHECK(refused(fragment) == OffloadError::kMalformedGso);
  auto longer = gso();
  write_u16(frame_at(longer), kIp + 2, static_cast<std::uint16_t>(frame_at(longer).size() - kIp + 1));
  CHECK(refused(longer) == OffloadError::kMalformedGso);
  auto ihl = gso();
  frame_at(ihl)[kIp] = std::byte{0x44};
  CHECK(refused(ihl) == OffloadError::kMalformedGso);
  auto data_offset = gso();
  frame_at(data_offset)[kTcp + 12] = std::byte{0x40};
  CHECK(refused(data_offset) == OffloadError::kMalformedGso);
  auto headers_only = kernel_frame(0, 1448, wire::tcp_flag::kAck);
  CHECK(refused(headers_only) == OffloadError::kMalformedGso);
  auto truncated_ip = gso();
  truncated_ip.resize(sizeof(VnetHeader) + kIp + 10);
  CHECK(refused(truncated_ip) == OffloadError::kMalformedGso);

  auto zero_segment = gso();
  set_header(zero_segment, [](VnetHeader& h) { h.segment_size = 0; });
  CHECK(refused(zero_segment) == OffloadError::kBadSegmentSize);
  CHECK(refused(gso(), kHeaders + 1447) == OffloadError::kBadSegmentSize);
  CHECK(refused(gso(), kHeaders + 1448) == OffloadError::kNone);

  auto past_end = kernel_frame(100, 0, wire::tcp_flag::kAck);
  set_header(past_end, [&](VnetHeader& h) { h.checksum_offset = static_cast<std::uint16_t>(past_end.size()); });
  CHECK(refused(past_end) == OffloadError::kBadChecksumRange);
  auto start_past_end = kernel_frame(100, 0, wire::tcp_flag::kAck);
  set_header(start_past_end, [](VnetHeader& h) { h.checksum_start = 0xffff; h.checksum_offset = 0; });
  CHECK(refused(start_past_end) == OffloadError::kBadChecksumRange);
  auto last_byte = kernel_frame(100, 0, wire::tcp_flag::kAck);
  set_header(last_byte, [&](VnetHeader& h) {
    h.checksum_start = static_cast<std::uint16_t>(last_byte.size() - sizeof(VnetHeader) - 1);
    h.checksum_offset = 0;
  });
  CHECK(refused(last_byte) == OffloadError::kBadChecksumRange);  // a 2-byte field at the last byte

  CHECK(refused(kernel_frame(kBuffer, 0, wire::tcp_flag::kAck)) == OffloadError::kTooLong);
  for (int e = 0; e <= static_cast<int>(OffloadError::kTooLong); ++e) {
    CHECK(std::strlen(describe(static_cast<OffloadError>(e))) > 0);
  }
}

TEST_CASE("random bytes and random headers are refused or cut, never read past the frame") {
  std::mt19937 random(7);
  std::array<std::byte, kBuffer> out;
  std::size_t accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    std::vector<std::byte> bytes = round % 2 ? kernel_frame(random() % 9000, 1448, wire::tcp_flag::kAck)
                                             : std::vector<std::byte>(random() % 200);
    for (int flips = random() % 4; flips > 0 && !bytes.empty(); --flips) {
      bytes[random() % std::min<std::size_t>(bytes.size(), 80)] = std::byte(random());
    }
    OffloadedFrame frame;
    if (frame.start(bytes, kBuffer) != OffloadError::kNone) continue;
    ++accepted;
    for (std::uint32_t i = 0; !frame.done(); ++i) REQUIRE(frame.next(out) <= kBuffer);
  }
  CHECK(accepted > 1000);
}

}  // namespace
}  // namespace pollstack::drivers
