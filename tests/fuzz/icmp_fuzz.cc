// ICMP: an accepted message re-emits (same type, code, fields, payload) to a message that parses,
// and differs from the input at most in the checksum field (one's complement has two zeros).
#include <algorithm>
#include <vector>

#include "layers/icmp/icmp_wire.h"
#include "tests/fuzz/fuzz_input.h"

using namespace pollstack;

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  const auto input = fuzz::bytes(data, size);
  const auto parsed = wire::parse_icmp(input);
  if (!parsed.ok()) return 0;
  std::vector<std::byte> again(input.begin(), input.end());
  wire::emit_icmp(parsed.repr(), parsed.payload().size(), again);
  fuzz::require(wire::parse_icmp(again).ok(), "an emitted icmp message parses");
  fuzz::require(std::equal(again.begin(), again.begin() + 2, input.begin()) &&
                    std::equal(again.begin() + 4, again.end(), input.begin() + 4),
                "icmp round-trips except the checksum field");
  return 0;
}
