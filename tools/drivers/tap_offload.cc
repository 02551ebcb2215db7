#include "tools/drivers/tap_offload.h"

#include <cstring>

#include "layers/common/bytes.h"
#include "layers/common/checksum.h"

namespace pollstack::drivers {
namespace {

constexpr std::size_t kEthernetBytes = 14;
constexpr std::uint16_t kEtherTypeIpv4 = 0x0800;
constexpr std::uint8_t kProtocolTcp = 6;
// TCP flags in the header's 14th byte.
constexpr std::byte kFin{0x01};
constexpr std::byte kPsh{0x08};
constexpr std::byte kCwr{0x80};

// One's complement subtraction: adding the complement takes a 16-bit word out of a sum.
constexpr std::uint32_t without(std::uint16_t word, std::uint32_t sum) {
  return wire::checksum_accumulate_word(static_cast<std::uint16_t>(~word), sum);
}

VnetHeader read_header(std::span<const std::byte> bytes) noexcept {
  VnetHeader h;
  std::memcpy(&h, bytes.data(), sizeof h);
  return h;
}

}  // namespace

const char* describe(OffloadError error) noexcept {
  switch (error) {
    case OffloadError::kNone: return "none";
    case OffloadError::kTruncated: return "shorter than the virtio-net and Ethernet headers";
    case OffloadError::kUnsupportedGso: return "a GSO type not asked for (only TCP over IPv4 is)";
    case OffloadError::kMalformedGso: return "a GSO frame that is not consistent Ethernet + IPv4 + TCP";
    case OffloadError::kBadSegmentSize: return "a GSO segment size of 0 or larger than a buffer holds";
    case OffloadError::kBadChecksumRange: return "a partial checksum outside the frame";
    case OffloadError::kTooLong: return "a frame longer than a buffer holds";
  }
  return "unknown";
}

OffloadError OffloadedFrame::start(std::span<std::byte> bytes, std::size_t max_frame) noexcept {
  count_ = next_ = 0;
  gso_ = false;
  if (bytes.size() < sizeof(VnetHeader) + kEthernetBytes) return OffloadError::kTruncated;
  const VnetHeader header = read_header(bytes);
  const std::span<std::byte> frame = bytes.subspan(sizeof(VnetHeader));
  frame_ = frame;

  const std::uint8_t type = header.gso_type & static_cast<std::uint8_t>(~VnetHeader::kGsoEcn);
  if (type == VnetHeader::kGsoNone) {
    if (frame.size() > max_frame) return OffloadError::kTooLong;
    if (header.flags & VnetHeader::kNeedsChecksum) {
      // CHECKSUM_PARTIAL: the field holds the pseudo-header's sum; the checksum is the complement
      // of the sum from checksum_start to the end, field included. A result of 0 is sent as
      // 0xffff (the same in one's complement; for UDP, 0 would mean "no checksum"), as Linux's
      // skb_checksum_help does.
      const std::size_t at = header.checksum_start;
      const std::size_t field = at + header.checksum_offset;
      if (at >= frame.size() || field + 2 > frame.size()) return OffloadError::kBadChecksumRange;
      const std::uint16_t sum = wire::checksum_finish(wire::checksum_accumulate(frame.subspan(at)));
      wire::write_u16(frame, field, sum == 0 ? 0xffff : sum);
    }
    count_ = 1;
    return OffloadError::kNone;
  }
  if (type != VnetHeader::kGsoTcpV4) return OffloadError::kUnsupportedGso;

  // Ethernet, IPv4 without fragmentation, TCP; every length consistent with the bytes read.
  if (wire::read_u16(frame, 12) != kEtherTypeIpv4) return OffloadError::kMalformedGso;
  const std::size_t ip_at = kEthernetBytes;
  if (frame.size() < ip_at + 20) return OffloadError::kMalformedGso;
  const std::uint8_t version_ihl = static_cast<std::uint8_t>(frame[ip_at]);
  const std::size_t ip_header_bytes = std::size_t{version_ihl & 0x0fu} * 4;
  const std::size_t ip_total = wire::read_u16(frame, ip_at + 2);
  if ((version_ihl >> 4) != 4 || ip_header_bytes < 20 || static_cast<std::uint8_t>(frame[ip_at + 9]) != kProtocolTcp ||
      (wire::read_u16(frame, ip_at + 6) & 0x3fff) != 0 ||  // more fragments, or an offset
      ip_total < ip_header_bytes + 20 || ip_at + ip_total > frame.size()) {
    return OffloadError::kMalformedGso;
  }
  const std::size_t tcp_at = ip_at + ip_header_bytes;
  const std::size_t tcp_header_bytes = static_cast<std::size_t>(static_cast<std::uint8_t>(frame[tcp_at + 12]) >> 4) * 4;
  const std::size_t headers = tcp_at + tcp_header_bytes;
  if (tcp_header_bytes < 20 || headers >= ip_at + ip_total) return OffloadError::kMalformedGso;
  if (header.segment_size == 0 || headers + header.segment_size > max_frame) return OffloadError::kBadSegmentSize;

  frame_ = frame.first(ip_at + ip_total);  // what follows the datagram (none, for a GSO frame) is not ours
  gso_ = true;
  ip_at_ = ip_at;
  ip_header_bytes_ = ip_header_bytes;
  tcp_at_ = tcp_at;
  headers_bytes_ = headers;
  payload_bytes_ = ip_at + ip_total - headers;
  segment_bytes_ = header.segment_size;
  count_ = static_cast<std::uint32_t>((payload_bytes_ + segment_bytes_ - 1) / segment_bytes_);

  std::uint32_t ip_sum = wire::checksum_accumulate(frame.subspan(ip_at, ip_header_bytes));
  ip_sum = without(wire::read_u16(frame, ip_at + 2), ip_sum);   // total length
  ip_sum = without(wire::read_u16(frame, ip_at + 4), ip_sum);   // identification
  ip_sum = without(wire::read_u16(frame, ip_at + 10), ip_sum);  // header checksum
  ip_sum_base_ = ip_sum;
  std::uint32_t tcp_sum = wire::checksum_accumulate(frame.subspan(tcp_at, tcp_header_bytes));
  tcp_sum = without(wire::read_u16(frame, tcp_at + 4), tcp_sum);   // sequence number
  tcp_sum = without(wire::read_u16(frame, tcp_at + 6), tcp_sum);
  tcp_sum = without(wire::read_u16(frame, tcp_at + 12), tcp_sum);  // data offset and flags
  tcp_sum = without(wire::read_u16(frame, tcp_at + 16), tcp_sum);  // checksum
  tcp_sum = wire::checksum_accumulate(frame.subspan(ip_at + 12, 8), tcp_sum);  // source, destination
  tcp_sum_base_ = wire::checksum_accumulate_word(kProtocolTcp, tcp_sum);
  return OffloadError::kNone;
}

std::size_t OffloadedFrame::next(std::span<std::byte> out) noexcept {
  expect(!done(), "OffloadedFrame::next after the last frame");
  if (gso_) return next_gso_segment(out);
  ++next_;
  wire::copy_bytes(out, frame_);
  return frame_.size();
}

std::size_t OffloadedFrame::next_gso_segment(std::span<std::byte> out) noexcept {
  const std::uint32_t index = next_++;
  const bool first = index == 0;
  const bool last = next_ == count_;
  const std::size_t offset = std::size_t{index} * segment_bytes_;
  const std::size_t payload = last ? payload_bytes_ - offset : segment_bytes_;
  const std::size_t length = headers_bytes_ + payload;

  // The headers as the GSO frame has them, then this segment's share of the payload, summed from
  // the source (in cache since read(); a sum of what was just stored would wait on the stores).
  std::memcpy(out.data(), frame_.data(), headers_bytes_);
  const std::span<const std::byte> chunk = frame_.subspan(headers_bytes_ + offset, payload);
  std::memcpy(out.data() + headers_bytes_, chunk.data(), payload);
  const std::span<std::byte> segment = out.first(length);

  // IPv4: this datagram's length, the next identification (Linux's GSO counts them up from the
  // first, unless told the ID is fixed, which virtio-net cannot say), the header checksum.
  const std::size_t ip = ip_at_;
  const auto ip_length = static_cast<std::uint16_t>(length - ip);
  const auto id = static_cast<std::uint16_t>(wire::read_u16(frame_, ip + 4) + index);
  wire::write_u16(segment, ip + 2, ip_length);
  wire::write_u16(segment, ip + 4, id);
  wire::write_u16(segment, ip + 10, wire::checksum_finish(wire::checksum_accumulate_word(
                                        id, wire::checksum_accumulate_word(ip_length, ip_sum_base_))));

  // TCP: the sequence number moves by the bytes before this segment; FIN and PSH belong to the
  // last segment, CWR to the first (RFC 3168 §6.1.2: one CWR per window reduction).
  const std::size_t tcp = tcp_at_;
  const std::uint32_t sequence = wire::read_u32(frame_, tcp + 4) + static_cast<std::uint32_t>(offset);
  std::byte flags = frame_[tcp + 13];
  if (!last) flags &= ~(kFin | kPsh);
  if (!first) flags &= ~kCwr;
  const auto offset_and_flags = static_cast<std::uint16_t>((static_cast<unsigned>(frame_[tcp + 12]) << 8) |
                                                           static_cast<unsigned>(flags));
  wire::write_u32(segment, tcp + 4, sequence);
  wire::write_u16(segment, tcp + 12, offset_and_flags);
  std::uint32_t sum = wire::checksum_accumulate(chunk, tcp_sum_base_);
  sum = wire::checksum_accumulate_word(static_cast<std::uint16_t>(sequence >> 16), sum);
  sum = wire::checksum_accumulate_word(static_cast<std::uint16_t>(sequence & 0xffff), sum);
  sum = wire::checksum_accumulate_word(offset_and_flags, sum);
  sum = wire::checksum_accumulate_word(static_cast<std::uint16_t>(length - tcp), sum);  // pseudo-header length
  wire::write_u16(segment, tcp + 16, wire::checksum_finish(sum));
  return length;
}

}  // namespace pollstack::drivers
