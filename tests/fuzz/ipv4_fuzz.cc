// IPv4: an accepted packet's payload lies inside the input and matches its length; re-emitting
// the header gives a packet that parses to the same fields.
#include <array>
#include <vector>

#include "layers/ipv4/ipv4_wire.h"
#include "tests/fuzz/fuzz_input.h"

using namespace pollstack;

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  const auto input = fuzz::bytes(data, size);
  const auto parsed = wire::parse_ipv4(input);
  if (!parsed.ok()) return 0;
  const auto& ip = parsed.repr();
  fuzz::require(parsed.payload().data() >= input.data() &&
                    parsed.payload().data() + parsed.payload().size() <= input.data() + input.size(),
                "ipv4 payload inside the packet");
  fuzz::require(parsed.payload().size() == ip.payload_length, "ipv4 payload length");
  std::vector<std::byte> again(wire::kIpv4HeaderBytes + ip.payload_length);
  wire::emit_ipv4(ip, again);
  const auto reparsed = wire::parse_ipv4(again);
  fuzz::require(reparsed.ok(), "an emitted ipv4 header parses");
  fuzz::require(reparsed.repr().source == ip.source && reparsed.repr().destination == ip.destination &&
                    reparsed.repr().protocol == ip.protocol && reparsed.repr().ttl == ip.ttl &&
                    reparsed.repr().identification == ip.identification &&
                    reparsed.repr().payload_length == ip.payload_length,
                "ipv4 fields round-trip");
  return 0;
}
