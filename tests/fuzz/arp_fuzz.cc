// ARP: an accepted packet re-emits to the same 28 bytes.
#include <algorithm>
#include <array>

#include "layers/arp/arp_wire.h"
#include "tests/fuzz/fuzz_input.h"

using namespace pollstack;

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  const auto input = fuzz::bytes(data, size);
  const auto parsed = wire::parse_arp(input);
  if (!parsed.ok()) return 0;
  std::array<std::byte, wire::kArpPacketBytes> out{};
  wire::emit_arp(parsed.repr(), out);
  fuzz::require(std::equal(out.begin(), out.end(), input.begin()), "arp packet round-trips");
  return 0;
}
