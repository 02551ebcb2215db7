#pragma once
/// TCP segments (RFC 9293 §3.1): the header, its options, and the checksum over the pseudo-header.
///
/// parse_tcp() checks everything before it trusts any field: the length, the data offset, the
/// checksum, the control flags that cannot go together, and every option's length; a segment that
/// fails is rejected with its own reason (TcpError). Options it knows (MSS, window scale,
/// SACK-permitted, SACK blocks, timestamps: RFC 9293 §3.2, RFC 7323, RFC 2018) are decoded; unknown
/// ones are skipped by their length; a known option with the wrong length is ignored, as Linux does
/// (tcp_parse_options), and counted in the repr. emit_tcp() writes a header with the options the
/// repr carries, laid out on 32-bit boundaries as Linux lays them out, for a payload already in
/// place after it, and computes the checksum. The IP version is the caller's: it passes a
/// PseudoHeader (layers/common/pseudo_header.h).

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "layers/common/bytes.h"
#include "layers/common/checksum.h"
#include "layers/common/parsed.h"
#include "layers/common/pseudo_header.h"

namespace pollstack::wire {

inline constexpr std::size_t kTcpHeaderBytes = 20;     // without options
inline constexpr std::size_t kTcpMaxOptionBytes = 40;  // data offset 15 words: 60 bytes of header
inline constexpr std::uint8_t kTcpMaxWindowShift = 14;  // RFC 7323 §2.3

namespace tcp_flag {
inline constexpr std::uint8_t kFin = 0x01;
inline constexpr std::uint8_t kSyn = 0x02;
inline constexpr std::uint8_t kRst = 0x04;
inline constexpr std::uint8_t kPsh = 0x08;
inline constexpr std::uint8_t kAck = 0x10;
inline constexpr std::uint8_t kUrg = 0x20;
inline constexpr std::uint8_t kEce = 0x40;  // RFC 3168 (not used by us; passed through)
inline constexpr std::uint8_t kCwr = 0x80;
}  // namespace tcp_flag

namespace tcp_option {
inline constexpr std::uint8_t kEnd = 0;
inline constexpr std::uint8_t kNop = 1;
inline constexpr std::uint8_t kMss = 2;            // length 4
inline constexpr std::uint8_t kWindowScale = 3;    // length 3
inline constexpr std::uint8_t kSackPermitted = 4;  // length 2
inline constexpr std::uint8_t kSack = 5;           // length 2 + 8 per block
inline constexpr std::uint8_t kTimestamps = 8;     // length 10
}  // namespace tcp_option

/// One SACK block (RFC 2018): the sequence numbers [left, right) the receiver holds.
struct SackBlock {
  std::uint32_t left = 0;
  std::uint32_t right = 0;
  constexpr bool operator==(const SackBlock&) const = default;
};
/// At most four blocks fit the 40 option bytes (three beside timestamps).
inline constexpr std::size_t kMaxSackBlocks = 4;

/// The options a segment carries. A `has_` flag is false when the option is absent.
struct TcpOptions {
  bool has_mss = false;
  bool has_window_scale = false;
  bool sack_permitted = false;
  bool has_timestamps = false;
  std::uint16_t mss = 0;
  std::uint8_t window_shift = 0;  // at most kTcpMaxWindowShift (a larger one received is clamped)
  std::uint8_t sack_blocks = 0;   // how many of `sack` are valid
  std::uint8_t ignored = 0;       // received only: known options of the wrong length, and unknown ones
  std::uint32_t timestamp_value = 0;
  std::uint32_t timestamp_echo = 0;
  std::array<SackBlock, kMaxSackBlocks> sack{};
};

struct TcpRepr {
  std::uint16_t source_port = 0;
  std::uint16_t destination_port = 0;
  std::uint32_t sequence = 0;
  std::uint32_t acknowledgement = 0;  // meaningful only with kAck
  std::uint8_t flags = 0;             // tcp_flag bits
  std::uint16_t window = 0;           // as on the wire: not scaled
  std::uint16_t urgent_pointer = 0;   // meaningful only with kUrg
  TcpOptions options;

  constexpr bool has(std::uint8_t flag) const noexcept { return (flags & flag) != 0; }
};

enum class TcpError : std::uint8_t {
  kTruncated,           // fewer than 20 bytes
  kBadDataOffset,       // data offset below 5 words, or past the end of the segment
  kBadChecksum,
  kBadOptionLength,     // an option's length byte is 0 or 1, or it runs past the header
  kSynWithFin,          // SYN and FIN together (Linux drops these too)
  kSynWithRst,          // SYN and RST together
  kNoControl,           // none of SYN, ACK, RST: no segment of a valid exchange looks like that
};
inline constexpr std::size_t kTcpErrorKinds = 7;

namespace internal {

// Reads the options of `area` (the header bytes after the fixed 20) into `options`.
constexpr bool parse_tcp_options(std::span<const std::byte> area, TcpOptions& options) {
  std::size_t at = 0;
  while (at < area.size()) {
    const auto kind = static_cast<std::uint8_t>(area[at]);
    if (kind == tcp_option::kEnd) break;  // the rest is padding
    if (kind == tcp_option::kNop) {
      ++at;
      continue;
    }
    if (at + 1 >= area.size()) return false;  // a kind without its length byte
    const auto length = static_cast<std::uint8_t>(area[at + 1]);
    if (length < 2 || at + length > area.size()) return false;
    const std::span<const std::byte> body = area.subspan(at + 2, length - 2u);
    switch (kind) {
      case tcp_option::kMss:
        if (length != 4) break;
        options.has_mss = true;
        options.mss = read_u16(body, 0);
        at += length;
        continue;
      case tcp_option::kWindowScale:
        if (length != 3) break;
        options.has_window_scale = true;
        options.window_shift = static_cast<std::uint8_t>(body[0]) > kTcpMaxWindowShift
                                   ? kTcpMaxWindowShift
                                   : static_cast<std::uint8_t>(body[0]);
        at += length;
        continue;
      case tcp_option::kSackPermitted:
        if (length != 2) break;
        options.sack_permitted = true;
        at += length;
        continue;
      case tcp_option::kSack: {
        const std::size_t blocks = (length - 2u) / 8;
        if ((length - 2u) % 8 != 0 || blocks == 0 || blocks > kMaxSackBlocks) break;
        options.sack_blocks = static_cast<std::uint8_t>(blocks);
        for (std::size_t i = 0; i < blocks; ++i) {
          options.sack[i] = {read_u32(body, 8 * i), read_u32(body, 8 * i + 4)};
        }
        at += length;
        continue;
      }
      case tcp_option::kTimestamps:
        if (length != 10) break;
        options.has_timestamps = true;
        options.timestamp_value = read_u32(body, 0);
        options.timestamp_echo = read_u32(body, 4);
        at += length;
        continue;
      default:
        break;
    }
    // Unknown, or known with the wrong length: skipped by its length.
    ++options.ignored;
    at += length;
  }
  return true;
}

}  // namespace internal

/// Parses the TCP segment that is an IP packet's payload (`segment`: all of it). The payload is
/// everything after the header (options included).
constexpr Parsed<TcpRepr, TcpError> parse_tcp(std::span<const std::byte> segment, const PseudoHeader& pseudo) {
  if (segment.size() < kTcpHeaderBytes) return TcpError::kTruncated;
  const std::size_t header_bytes = (static_cast<std::uint8_t>(segment[12]) >> 4) * 4u;
  if (header_bytes < kTcpHeaderBytes || header_bytes > segment.size()) return TcpError::kBadDataOffset;
  const auto length = static_cast<std::uint32_t>(segment.size());
  if (!checksum_valid(checksum_accumulate(segment, pseudo.sum_with_length(length)))) return TcpError::kBadChecksum;
  TcpRepr repr;
  repr.flags = static_cast<std::uint8_t>(segment[13]);
  if (repr.has(tcp_flag::kSyn) && repr.has(tcp_flag::kFin)) return TcpError::kSynWithFin;
  if (repr.has(tcp_flag::kSyn) && repr.has(tcp_flag::kRst)) return TcpError::kSynWithRst;
  if (!repr.has(tcp_flag::kSyn) && !repr.has(tcp_flag::kAck) && !repr.has(tcp_flag::kRst)) return TcpError::kNoControl;
  if (!internal::parse_tcp_options(segment.subspan(kTcpHeaderBytes, header_bytes - kTcpHeaderBytes), repr.options)) {
    return TcpError::kBadOptionLength;
  }
  repr.source_port = read_u16(segment, 0);
  repr.destination_port = read_u16(segment, 2);
  repr.sequence = read_u32(segment, 4);
  repr.acknowledgement = read_u32(segment, 8);
  repr.window = read_u16(segment, 14);
  repr.urgent_pointer = read_u16(segment, 18);
  return {repr, segment.subspan(header_bytes)};
}

/// Bytes of header (with options, padded to 32 bits) emit_tcp() writes for `options`.
constexpr std::size_t tcp_header_length(const TcpOptions& options) {
  std::size_t n = kTcpHeaderBytes;
  if (options.has_mss) n += 4;
  if (options.sack_permitted || options.has_timestamps) {
    n += options.has_timestamps ? 12 : 4;  // SACK-permitted rides in the timestamps' NOP padding
  }
  if (options.has_window_scale) n += 4;
  if (options.sack_blocks > 0) n += 4 + 8u * options.sack_blocks;
  return n;
}

/// Writes the header and options at the start of `segment`, whose payload (payload_length bytes)
/// already follows the header (at tcp_header_length()), and computes the checksum. Returns header
/// + payload length. The layout is Linux's: MSS; SACK-permitted and timestamps together
/// (or each behind NOPs); NOP and window scale; NOP NOP and SACK blocks.
constexpr std::size_t emit_tcp(const TcpRepr& repr, const PseudoHeader& pseudo, std::size_t payload_length,
                               std::span<std::byte> segment) {
  const TcpOptions& o = repr.options;
  const std::size_t header_bytes = tcp_header_length(o);
  expect(header_bytes <= kTcpHeaderBytes + kTcpMaxOptionBytes, "emit_tcp: options do not fit 40 bytes");
  const std::size_t length = header_bytes + payload_length;
  expect(length <= segment.size(), "emit_tcp: segment does not fit");
  write_u16(segment, 0, repr.source_port);
  write_u16(segment, 2, repr.destination_port);
  write_u32(segment, 4, repr.sequence);
  write_u32(segment, 8, repr.acknowledgement);
  segment[12] = static_cast<std::byte>((header_bytes / 4) << 4);
  segment[13] = static_cast<std::byte>(repr.flags);
  write_u16(segment, 14, repr.window);
  write_u16(segment, 16, 0);
  write_u16(segment, 18, repr.urgent_pointer);
  std::size_t at = kTcpHeaderBytes;
  const auto put = [&](std::uint8_t byte) { segment[at++] = static_cast<std::byte>(byte); };
  if (o.has_mss) {
    put(tcp_option::kMss);
    put(4);
    write_u16(segment, at, o.mss);
    at += 2;
  }
  if (o.has_timestamps) {
    if (o.sack_permitted) {
      put(tcp_option::kSackPermitted);
      put(2);
    } else {
      put(tcp_option::kNop);
      put(tcp_option::kNop);
    }
    put(tcp_option::kTimestamps);
    put(10);
    write_u32(segment, at, o.timestamp_value);
    write_u32(segment, at + 4, o.timestamp_echo);
    at += 8;
  } else if (o.sack_permitted) {
    put(tcp_option::kNop);
    put(tcp_option::kNop);
    put(tcp_option::kSackPermitted);
    put(2);
  }
  if (o.has_window_scale) {
    put(tcp_option::kNop);
    put(tcp_option::kWindowScale);
    put(3);
    put(o.window_shift);
  }
  if (o.sack_blocks > 0) {
    expect(o.sack_blocks <= kMaxSackBlocks, "emit_tcp: too many SACK blocks");
    put(tcp_option::kNop);
    put(tcp_option::kNop);
    put(tcp_option::kSack);
    put(static_cast<std::uint8_t>(2 + 8 * o.sack_blocks));
    for (std::size_t i = 0; i < o.sack_blocks; ++i) {
      write_u32(segment, at, o.sack[i].left);
      write_u32(segment, at + 4, o.sack[i].right);
      at += 8;
    }
  }
  const std::uint16_t checksum = checksum_finish(
      checksum_accumulate(segment.first(length), pseudo.sum_with_length(static_cast<std::uint32_t>(length))));
  write_u16(segment, 16, checksum);
  return length;
}

}  // namespace pollstack::wire
