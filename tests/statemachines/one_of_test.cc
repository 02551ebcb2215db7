// OneOf: the storage a machine's states share. Each alternative is constructed and destroyed
// exactly once, whichever way it goes (replaced, reset, moved, or left to the destructor).
#include "statemachines/one_of.h"

#include <doctest/doctest.h>

#include <utility>

namespace pollstack {
namespace {

struct Counts {
  int made = 0;
  int destroyed = 0;
};

// An operation that counts its lifetimes (moves included: a moved-from one is destroyed too).
struct Tracked {
  Counts* counts;
  int value;
  Tracked(Counts& c, int v) noexcept : counts(&c), value(v) { ++counts->made; }
  Tracked(Tracked&& other) noexcept : counts(other.counts), value(other.value) { ++counts->made; }
  ~Tracked() { ++counts->destroyed; }
};

struct Empty {};

TEST_CASE("emplace destroys what was held and constructs the new alternative in place") {
  Counts a;
  Counts b;
  OneOf<Tracked, Empty, Tracked> one;
  CHECK(one.empty());
  one.emplace<0>(a, 1);
  CHECK(one.index() == 0);
  CHECK(one.get<0>().value == 1);
  one.emplace<2>(b, 2);  // the same type at another index is another alternative
  CHECK(one.index() == 2);
  CHECK(one.get<2>().value == 2);
  CHECK(a.made == 1);
  CHECK(a.destroyed == 1);
  one.emplace<1>();
  CHECK(b.destroyed == 1);
  one.reset();
  CHECK(one.empty());
  one.reset();  // resetting an empty one does nothing
  CHECK(b.made == 1);
}

TEST_CASE("the destructor destroys the held alternative; a move carries it") {
  Counts c;
  {
    OneOf<Empty, Tracked> from;
    from.emplace<1>(c, 7);
    OneOf<Empty, Tracked> to(std::move(from));
    CHECK(to.index() == 1);
    CHECK(to.get<1>().value == 7);
    CHECK(from.index() == 1);  // moved from, still held until destroyed
    OneOf<Empty, Tracked> empty;
    OneOf<Empty, Tracked> still_empty(std::move(empty));
    CHECK(still_empty.empty());
  }
  CHECK(c.made == 2);
  CHECK(c.destroyed == 2);
}

TEST_CASE("its size is the largest alternative's and an index") {
  struct Big {
    char bytes[40];
  };
  static_assert(sizeof(OneOf<Empty, Big>) <= sizeof(Big) + alignof(Big) + 1);
  static_assert(sizeof(OneOf<Empty, Big>) >= sizeof(Big) + 1);
}

}  // namespace
}  // namespace pollstack
