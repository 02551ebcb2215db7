// Ethernet: a parsed header re-emits to the same 14 bytes; the payload is the rest of the frame.
#include <algorithm>
#include <array>

#include "layers/ethernet/ethernet_wire.h"
#include "tests/fuzz/fuzz_input.h"

using namespace pollstack;

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  const auto input = fuzz::bytes(data, size);
  const auto parsed = wire::parse_ethernet(input);
  if (!parsed.ok()) return 0;
  std::array<std::byte, wire::kEthernetHeaderBytes> out{};
  wire::emit_ethernet(parsed.repr(), out);
  fuzz::require(std::equal(out.begin(), out.end(), input.begin()), "ethernet header round-trips");
  fuzz::require(parsed.payload().size() == size - wire::kEthernetHeaderBytes, "ethernet payload is the rest");
  return 0;
}
