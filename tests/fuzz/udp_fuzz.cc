// UDP: the first 8 input bytes are the IPv4 source and destination, the rest the datagram. An
// accepted datagram's payload matches its length field, and re-emitting it gives one that parses.
#include <vector>

#include "layers/ipv4/ipv4_wire.h"
#include "layers/udp/udp_wire.h"
#include "tests/fuzz/fuzz_input.h"

using namespace pollstack;

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  if (size < 8) return 0;
  const auto input = fuzz::bytes(data, size);
  wire::Ipv4Repr ip;
  ip.source = wire::Ipv4Address::from_u32(wire::read_u32(input, 0));
  ip.destination = wire::Ipv4Address::from_u32(wire::read_u32(input, 4));
  ip.protocol = wire::ip_protocol::kUdp;
  const auto datagram = input.subspan(8);
  const wire::PseudoHeader pseudo = wire::ipv4_pseudo_header(ip.source, ip.destination, wire::ip_protocol::kUdp);
  const auto parsed = wire::parse_udp(datagram, pseudo);
  if (!parsed.ok()) return 0;
  fuzz::require(parsed.payload().size() + wire::kUdpHeaderBytes == wire::read_u16(datagram, 4), "udp length");
  std::vector<std::byte> again(wire::kUdpHeaderBytes + parsed.payload().size());
  std::copy(parsed.payload().begin(), parsed.payload().end(), again.begin() + wire::kUdpHeaderBytes);
  wire::emit_udp(parsed.repr(), pseudo, parsed.payload().size(), again);
  fuzz::require(wire::parse_udp(again, pseudo).ok(), "an emitted udp datagram parses");
  return 0;
}
