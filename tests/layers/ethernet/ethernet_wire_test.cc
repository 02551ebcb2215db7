#include "layers/ethernet/ethernet_wire.h"

#include <doctest/doctest.h>

#include <array>

namespace pollstack::wire {
namespace {

TEST_CASE("emit then parse gives back the header and the payload") {
  std::array<std::byte, 64> frame{};
  const EthernetRepr repr{MacAddress::broadcast(), MacAddress{{0x02, 0, 0, 0, 0, 7}}, ethertype::kArp};
  CHECK(emit_ethernet(repr, frame) == kEthernetHeaderBytes);
  CHECK(frame[12] == std::byte{0x08});
  CHECK(frame[13] == std::byte{0x06});
  const auto parsed = parse_ethernet(frame);
  REQUIRE(parsed.ok());
  CHECK(parsed.repr().destination == MacAddress::broadcast());
  CHECK(parsed.repr().source == repr.source);
  CHECK(parsed.repr().ethertype == ethertype::kArp);
  CHECK(parsed.payload().size() == 64 - kEthernetHeaderBytes);
}

TEST_CASE("a frame shorter than the header is rejected before any read") {
  std::array<std::byte, 13> short_frame{};
  CHECK(parse_ethernet(short_frame).error() == EthernetError::kTruncated);
  CHECK(parse_ethernet({}).error() == EthernetError::kTruncated);
  std::array<std::byte, 14> exact{};
  CHECK(parse_ethernet(exact).ok());  // header only, empty payload
}

}  // namespace
}  // namespace pollstack::wire
