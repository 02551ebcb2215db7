#pragma once
// The TAP device's virtio-net header (IFF_VNET_HDR), the driver's side of segmentation and checksum
// offload. With TUNSETOFFLOAD(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO_ECN) the kernel treats the TAP
// device as a NIC with TSO and transmit checksum offload: its TCP hands one read() a TCP/IPv4
// frame of up to 64 KiB (a GSO frame) where it would have written 45 MTU-sized ones, and it leaves
// transport checksums for the "hardware" to finish (CHECKSUM_PARTIAL). One system call then carries
// what took 45, which is the point: the TAP path's cost is per system call, not per byte.
//
// The stack's receive buffers hold one MTU-sized frame and the stack verifies every checksum it
// receives, so the driver does in software what such a NIC does in hardware, as Linux's own GSO
// fallback does (net/ipv4/tcp_offload.c, skb_checksum_help): it cuts a GSO frame into the frames a
// wire would carry (each with its own IPv4 length, identification and header checksum, its TCP
// sequence number and checksum; FIN and PSH on the last frame only, CWR on the first only), and
// completes a partial checksum in place. Anything it cannot cut exactly is refused with a reason,
// never passed on half-built.
//
// Not used for the other way: the stack's frames are written behind an all-zero header (no GSO,
// checksums complete).

#include <cstddef>
#include <cstdint>
#include <span>

namespace pollstack::drivers {

/// struct virtio_net_hdr (linux/virtio_net.h): the 10 bytes before each frame read from or
/// written to a TAP device opened with IFF_VNET_HDR. Its 16-bit fields are in the TAP device's
/// byte order, which is the host's unless TUNSETVNETBE/LE say otherwise (this driver never does).
struct VnetHeader {
  static constexpr std::uint8_t kNeedsChecksum = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM
  static constexpr std::uint8_t kGsoNone = 0;        // VIRTIO_NET_HDR_GSO_NONE
  static constexpr std::uint8_t kGsoTcpV4 = 1;       // VIRTIO_NET_HDR_GSO_TCPV4
  static constexpr std::uint8_t kGsoEcn = 0x80;      // VIRTIO_NET_HDR_GSO_ECN: the frame may carry CWR

  std::uint8_t flags = 0;
  std::uint8_t gso_type = kGsoNone;
  std::uint16_t header_length = 0;    // hdr_len: Ethernet + IP + TCP headers (advisory)
  std::uint16_t segment_size = 0;     // gso_size: TCP payload bytes per wire frame
  std::uint16_t checksum_start = 0;   // csum_start: where the partial checksum's span begins
  std::uint16_t checksum_offset = 0;  // csum_offset: the checksum field, from checksum_start
};
static_assert(sizeof(VnetHeader) == 10, "struct virtio_net_hdr is 10 bytes");

/// Why a frame read from the TAP device was not delivered (each counted by the driver).
enum class OffloadError : std::uint8_t {
  kNone,
  kTruncated,          // shorter than the virtio-net header plus an Ethernet header
  kUnsupportedGso,     // a GSO type this driver did not ask for (UDP, IPv6)
  kMalformedGso,       // a GSO frame that is not Ethernet + IPv4 + TCP with consistent lengths
  kBadSegmentSize,     // gso_size 0, or a segment that would not fit the stack's buffer
  kBadChecksumRange,   // a partial checksum whose span or field lies outside the frame
  kTooLong,            // a frame (not GSO) longer than the stack's buffer
};

const char* describe(OffloadError error) noexcept;

/// One frame read from the TAP device (header and all), handed out as the wire frames it stands
/// for. start() checks everything; next() then cannot fail. The bytes must stay put until done().
class OffloadedFrame {
 public:
  /// Takes `bytes` (a virtio-net header, then the frame, as read() returned them) to be cut into
  /// frames of at most `max_frame` bytes. A partial checksum on a frame that is not GSO is
  /// completed here, in place. On an error nothing is handed out (done() is true).
  OffloadError start(std::span<std::byte> bytes, std::size_t max_frame) noexcept;

  bool done() const noexcept { return next_ == count_; }
  /// How many wire frames the frame given to start() makes (1 unless it was GSO).
  std::uint32_t count() const noexcept { return count_; }
  bool gso() const noexcept { return gso_; }

  /// Writes the next wire frame into `out` (at least `max_frame` bytes) and returns its length.
  /// Only while !done().
  std::size_t next(std::span<std::byte> out) noexcept;

 private:
  std::size_t next_gso_segment(std::span<std::byte> out) noexcept;

  std::span<const std::byte> frame_;  // without the virtio-net header
  bool gso_ = false;
  std::uint32_t count_ = 0;
  std::uint32_t next_ = 0;
  // GSO: where the headers end and the payload's bytes per segment.
  std::size_t ip_at_ = 0, ip_header_bytes_ = 0, tcp_at_ = 0, headers_bytes_ = 0, payload_bytes_ = 0;
  std::size_t segment_bytes_ = 0;
  // The GSO frame's IPv4 and TCP header sums without the fields each segment changes (lengths,
  // identification, sequence number, flags, checksums), the TCP one with its pseudo-header's
  // addresses and protocol: each segment's checksums are then sums of values, never of bytes it
  // has just written (reading those back waits on the stores: a stall per header).
  std::uint32_t ip_sum_base_ = 0;
  std::uint32_t tcp_sum_base_ = 0;
};

}  // namespace pollstack::drivers
