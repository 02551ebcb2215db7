// OutOfOrder<N>: the ranges a connection holds past a gap.
#include "layers/tcp/out_of_order.h"

#include <doctest/doctest.h>

#include <array>
#include <span>
#include <string>

namespace pollstack::net {
namespace {

template <std::size_t N>
std::string ranges(const OutOfOrder<N>& o) {
  std::string s;
  for (std::size_t i = 0; i < o.size(); ++i) s += "[" + std::to_string(o[i].left) + "," + std::to_string(o[i].right) + ")";
  return s;
}

TEST_CASE("ranges stay sorted and disjoint; touching and overlapping ones merge") {
  OutOfOrder<4> o;
  CHECK(o.add(30, 40));
  CHECK(o.add(10, 20));
  CHECK(ranges(o) == "[10,20)[30,40)");
  CHECK(o.add(20, 25));  // touches the first
  CHECK(ranges(o) == "[10,25)[30,40)");
  CHECK(o.add(24, 31));  // bridges both
  CHECK(ranges(o) == "[10,40)");
  CHECK(o.add(50, 60));
  CHECK(o.add(5, 70));  // covers everything
  CHECK(ranges(o) == "[5,70)");
  CHECK(o.add(80, 80));  // empty: nothing
  CHECK(ranges(o) == "[5,70)");
}

TEST_CASE("a range that needs one block too many is refused, and changes nothing") {
  OutOfOrder<2> o;
  CHECK(o.add(10, 20));
  CHECK(o.add(30, 40));
  CHECK_FALSE(o.add(50, 60));
  CHECK_FALSE(o.add(22, 28));
  CHECK(ranges(o) == "[10,20)[30,40)");
  CHECK(o.add(15, 35));  // merges: no new block needed
  CHECK(ranges(o) == "[10,40)");
}

TEST_CASE("advance takes in the ranges the in-order edge reaches") {
  OutOfOrder<4> o;
  o.add(10, 20);
  o.add(30, 40);
  CHECK(o.advance(5) == 5);
  CHECK(o.advance(10) == 20);
  CHECK(ranges(o) == "[30,40)");
  CHECK(o.advance(35) == 40);  // an edge inside a range takes it all
  CHECK(o.size() == 0);
}

TEST_CASE("sequence numbers wrap") {
  OutOfOrder<4> o;
  CHECK(o.add(0xfffffff0u, 0x10));
  CHECK(o.add(0x20, 0x30));
  CHECK(o.add(0xffffffe0u, 0xfffffff0u));
  CHECK(ranges(o) == "[" + std::to_string(0xffffffe0u) + ",16)[32,48)");
  CHECK(o.advance(0xffffffe0u) == 0x10);
}

TEST_CASE("most_recent lists the ranges from the one that grew last to the oldest (RFC 2018's order)") {
  OutOfOrder<4> o;
  o.add(30, 40);
  o.add(10, 20);
  o.add(50, 60);
  std::array<SeqRange, 4> out{};
  REQUIRE(o.most_recent(out) == 3);
  CHECK(out[0].left == 50);
  CHECK(out[1].left == 10);
  CHECK(out[2].left == 30);
  o.add(20, 25);  // grows [10,20): it is the newest now
  REQUIRE(o.most_recent(std::span(out).first(2)) == 2);
  CHECK(out[0].left == 10);
  CHECK(out[0].right == 25);
  CHECK(out[1].left == 50);
  o.advance(10);  // the oldest left are still in order
  REQUIRE(o.most_recent(out) == 2);
  CHECK(out[0].left == 50);
  CHECK(out[1].left == 30);
}

TEST_CASE("discard_below forgets what lies below an edge and cuts a range across it") {
  OutOfOrder<4> o;
  o.add(10, 20);
  o.add(30, 40);
  o.add(50, 60);
  o.discard_below(20);
  CHECK(ranges(o) == "[30,40)[50,60)");
  o.discard_below(35);
  CHECK(ranges(o) == "[35,40)[50,60)");
  o.discard_below(100);
  CHECK(o.size() == 0);
}

}  // namespace
}  // namespace pollstack::net
