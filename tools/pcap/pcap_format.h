#pragma once
// The classic libpcap file format (what tshark, Wireshark and tcpdump read): a global header, then
// per frame a record header and the frame's bytes. Written in host byte order; readers tell the
// order, and the timestamp resolution, from the magic number.

#include <cstdint>

namespace pollstack::pcap {

inline constexpr std::uint32_t kMicrosecondMagic = 0xa1b2c3d4;
inline constexpr std::uint32_t kNanosecondMagic = 0xa1b23c4d;
inline constexpr std::uint32_t kLinkTypeEthernet = 1;

struct GlobalHeader {
  std::uint32_t magic = kMicrosecondMagic;
  std::uint16_t version_major = 2;
  std::uint16_t version_minor = 4;
  std::int32_t this_zone = 0;
  std::uint32_t sigfigs = 0;
  std::uint32_t snaplen = 65535;
  std::uint32_t link_type = kLinkTypeEthernet;
};
static_assert(sizeof(GlobalHeader) == 24);

struct RecordHeader {
  std::uint32_t ts_sec;
  std::uint32_t ts_fraction;  // microseconds or nanoseconds, as the magic says
  std::uint32_t incl_len;     // bytes in the file
  std::uint32_t orig_len;     // bytes on the wire
};
static_assert(sizeof(RecordHeader) == 16);

}  // namespace pollstack::pcap
