// TCP: the first input byte is a mode, the next 8 the IPv4 source and destination, the rest the
// segment. With the mode's low bit set the harness writes the right checksum into the segment
// first, so that mutations reach the flag and option checks instead of failing the checksum. An
// accepted segment's header fits it, its options are within their limits, and re-emitting the
// repr with the same payload gives a segment that parses back to the same fields.
#include <algorithm>
#include <vector>

#include "layers/ipv4/ipv4_wire.h"
#include "layers/tcp/tcp_wire.h"
#include "tests/fuzz/fuzz_input.h"

using namespace pollstack;

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  if (size < 9) return 0;
  const auto input = fuzz::bytes(data, size);
  const wire::PseudoHeader pseudo =
      wire::ipv4_pseudo_header(wire::Ipv4Address::from_u32(wire::read_u32(input, 1)),
                               wire::Ipv4Address::from_u32(wire::read_u32(input, 5)), wire::ip_protocol::kTcp);
  std::vector<std::byte> bytes(input.begin() + 9, input.end());
  const std::span<const std::byte> segment(bytes);
  if ((data[0] & 1) != 0 && bytes.size() >= wire::kTcpHeaderBytes) {
    wire::write_u16(bytes, 16, 0);
    wire::write_u16(bytes, 16,
                    wire::checksum_finish(wire::checksum_accumulate(
                        segment, pseudo.sum_with_length(static_cast<std::uint32_t>(bytes.size())))));
  }
  const auto parsed = wire::parse_tcp(segment, pseudo);
  if (!parsed.ok()) return 0;
  const wire::TcpRepr& r = parsed.repr();
  fuzz::require(parsed.payload().size() + wire::kTcpHeaderBytes <= segment.size(), "tcp header fits the segment");
  fuzz::require(r.options.window_shift <= wire::kTcpMaxWindowShift, "window shift clamped");
  fuzz::require(r.options.sack_blocks <= wire::kMaxSackBlocks, "sack blocks bounded");
  fuzz::require(!(r.has(wire::tcp_flag::kSyn) && r.has(wire::tcp_flag::kFin)), "no SYN+FIN accepted");
  // Re-emit what fits the 40 option bytes (a received segment may carry, e.g., MSS and four
  // SACK blocks, which together do not).
  wire::TcpRepr again_repr = r;
  if (wire::tcp_header_length(again_repr.options) > wire::kTcpHeaderBytes + wire::kTcpMaxOptionBytes) {
    again_repr.options.sack_blocks = 0;
  }
  if (wire::tcp_header_length(again_repr.options) > wire::kTcpHeaderBytes + wire::kTcpMaxOptionBytes) return 0;
  const std::size_t header = wire::tcp_header_length(again_repr.options);
  std::vector<std::byte> again(header + parsed.payload().size());
  std::copy(parsed.payload().begin(), parsed.payload().end(), again.begin() + static_cast<std::ptrdiff_t>(header));
  wire::emit_tcp(again_repr, pseudo, parsed.payload().size(), again);
  const auto reparsed = wire::parse_tcp(again, pseudo);
  fuzz::require(reparsed.ok(), "an emitted tcp segment parses");
  const wire::TcpRepr& b = reparsed.repr();
  fuzz::require(b.sequence == r.sequence && b.acknowledgement == r.acknowledgement && b.flags == r.flags &&
                    b.window == r.window && b.source_port == r.source_port && b.destination_port == r.destination_port,
                "tcp fields round-trip");
  fuzz::require(b.options.has_mss == r.options.has_mss && (!b.options.has_mss || b.options.mss == r.options.mss),
                "mss round-trips");
  fuzz::require(b.options.has_timestamps == r.options.has_timestamps &&
                    (!b.options.has_timestamps || (b.options.timestamp_value == r.options.timestamp_value &&
                                                   b.options.timestamp_echo == r.options.timestamp_echo)),
                "timestamps round-trip");
  fuzz::require(b.options.sack_blocks == again_repr.options.sack_blocks, "sack blocks round-trip");
  fuzz::require(std::equal(reparsed.payload().begin(), reparsed.payload().end(), parsed.payload().begin(),
                           parsed.payload().end()),
                "payload round-trips");
  return 0;
}
